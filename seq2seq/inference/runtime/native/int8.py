"""Linear layers in int8 on CPUs with AVX-512 VNNI, each product in one native call
(``int8.c``): weights quantized per output (symmetric, 8 bits), inputs row by row as each
call comes (unsigned 8 bits, zero at 128), the products summed exactly in 32-bit integers."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from seq2seq.inference.runtime.native.build import native_library
from seq2seq.model.replace import replace_children

QUANTUM_OUTPUTS, QUANTUM_INPUTS = 16, 4  # what one instruction reads: 16 outputs by 4 inputs


def native_int8_available() -> bool:
    """Whether the native library was built here with int8 products (AVX-512 VNNI)."""
    library = native_library()
    return library is not None and bool(library.int8_available())


def _packed(weight: Tensor) -> Tensor:
    """(out, in) int8 -> (ceil(out / 16), ceil(in / 4), 16, 4), zeros where padded: the order
    in which ``int8.c`` reads them."""
    out, inputs = weight.shape
    rows, columns = -(-out // QUANTUM_OUTPUTS), -(-inputs // QUANTUM_INPUTS)
    padded = weight.new_zeros(rows * QUANTUM_OUTPUTS, columns * QUANTUM_INPUTS)
    padded[:out, :inputs] = weight
    blocks = padded.view(rows, QUANTUM_OUTPUTS, columns, QUANTUM_INPUTS)
    return blocks.permute(0, 2, 1, 3).contiguous()


class NativeInt8Linear(nn.Module):
    """``nn.Linear`` in int8: y = (x_q W_q^T) * x_scale * w_scale + b, where each output's
    weights are rounded to 127 steps of its largest magnitude and each input row to 127 steps
    of its own. Finer than PyTorch's dynamic quantization, which scales the whole input and
    the whole weight by one number each and keeps 7 bits of the input."""

    def __init__(self, weight: Tensor, scales: Tensor, bias: Tensor | None) -> None:
        """``weight`` (out, in) int8, ``scales`` (out,) float, ``bias`` (out,) float or None:
        made by ``of``."""
        super().__init__()
        self.out_features, self.in_features = weight.shape
        self.register_buffer("weight_int8", weight, persistent=False)
        self.register_buffer("scales", scales.float().contiguous(), persistent=False)
        self.register_buffer("bias", None if bias is None else bias.float().contiguous(),
                             persistent=False)  # fmt: skip
        self.register_buffer("packed", _packed(weight), persistent=False)
        # what the inputs' zero point (128) adds to each output's integer sum
        compensation = weight.sum(1, dtype=torch.int32) * 128
        self.register_buffer("compensation", compensation, persistent=False)

    @classmethod
    def of(cls, linear: nn.Linear) -> NativeInt8Linear:
        """``linear``'s weights quantized."""
        weight = linear.weight.detach().float()
        scales = weight.abs().amax(1).clamp_min(torch.finfo(torch.float32).tiny) / 127
        quantized = (weight / scales[:, None]).round().clamp(-127, 127).to(torch.int8)
        bias = None if linear.bias is None else linear.bias.detach()
        return cls(quantized, scales, bias)

    def rows(self, ids: Tensor) -> NativeInt8Linear:
        """The layer of outputs ``ids`` (kept,) alone, in their order (a shortlist's): the
        same int8 weights, so its outputs equal those columns of this layer's."""
        ids = ids.cpu()
        bias = None if self.bias is None else self.bias.index_select(0, ids)
        return NativeInt8Linear(
            self.weight_int8.index_select(0, ids), self.scales.index_select(0, ids), bias
        )

    def forward(self, x: Tensor) -> Tensor:
        """(..., in_features) float -> (..., out_features), in ``x``'s dtype."""
        rows = x.reshape(-1, self.in_features).float().contiguous()
        y = rows.new_empty(rows.size(0), self.out_features)
        if rows.size(0) == 0:
            return y.view(*x.shape[:-1], self.out_features).to(x.dtype)
        status = native_library().int8_linear(
            rows.data_ptr(), rows.size(0), self.in_features, self.packed.data_ptr(),
            self.scales.data_ptr(), self.compensation.data_ptr(),
            None if self.bias is None else self.bias.data_ptr(), self.out_features,
            y.data_ptr(), torch.get_num_threads(),
        )  # fmt: skip
        if status:
            raise MemoryError("a native int8 product found no memory for its scratch space")
        return y.view(*x.shape[:-1], self.out_features).to(x.dtype)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8"


def use_native_int8(model: nn.Module) -> nn.Module:
    """Replace, in place, every ``nn.Linear`` of ``model`` by a ``NativeInt8Linear`` of its
    weights; returns ``model``. Call where ``native_int8_available()``."""
    return replace_children(
        model, lambda _, child: NativeInt8Linear.of(child) if type(child) is nn.Linear else None
    )
