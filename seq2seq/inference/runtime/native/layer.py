"""Decoder layers whose decoding steps over few rows run as one native call
(``decoder_layer.c``); other calls, and every call where the native path does not apply, run
the layer's own PyTorch code."""

from __future__ import annotations

import ctypes

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seq2seq.inference.runtime.cache import KeyValueBuffer
from seq2seq.inference.runtime.native.build import native_library
from seq2seq.model import AttentionMaps, DecoderLayer, KeyValue
from seq2seq.model.replace import replace_children

# Multiply-adds of a layer step up to which one native call beats the layer's operators on
# two threads (rows x the layer's weights; Zen 4: the tiny preset up to some 36 rows, the
# base preset at one or two): beyond, the products rule, and PyTorch runs them threaded.
NATIVE_MAX_PRODUCTS = 2**23
_POINTER, _INT, _FLOAT = ctypes.c_void_p, ctypes.c_int, ctypes.c_float


class _Linear(ctypes.Structure):
    _fields_ = (("weight", _POINTER), ("bias", _POINTER), ("in_", _INT), ("out", _INT))


class _Norm(ctypes.Structure):
    _fields_ = (("weight", _POINTER), ("bias", _POINTER), ("eps", _FLOAT))


_LINEARS = ("qkv", "self_out", "cross_q", "cross_out", "w1", "w2")
_NORMS = ("self_norm", "cross_norm", "ffn_norm")


class _Layer(ctypes.Structure):
    _fields_ = (
        ("d", _INT), ("heads", _INT), ("ffn", _INT), ("pre_norm", _INT), ("swish", _INT),
        *((name, _Linear) for name in _LINEARS), *((name, _Norm) for name in _NORMS),
    )  # fmt: skip


class _Kernel:
    """A layer's weights as ``decoder_layer.c`` reads them: the C structure, the tensors it
    points into (transposed copies of the weights; the biases and norms themselves), and the
    parameters' addresses and in-place change counts when it was made (a tensor made in
    inference mode keeps no count)."""

    __slots__ = ("counted", "described", "parameters", "signature", "tensors")

    def __init__(self) -> None:
        self.described: _Layer | None = None
        self.tensors: list[Tensor] = []
        self.parameters: list[Tensor] = []
        self.counted: list[Tensor] = []
        self.signature: tuple[list[int], list[int]] = ([], [])

    def of(self, layer: DecoderLayer) -> _Layer:
        """The structure for ``layer``, made again once a parameter moved or changed in place."""
        if not self.parameters:
            self.parameters = list(layer.parameters())
            self.counted = [p for p in self.parameters if not p.is_inference()]
        signature = [p.data_ptr() for p in self.parameters], [p._version for p in self.counted]
        if signature != self.signature:
            self.described, self.tensors = _described(layer)
            self.signature = signature
        return self.described


class NativeDecoderLayer(DecoderLayer):
    """A ``DecoderLayer`` (the same sub-modules and parameters, the same state dict) whose
    incremental steps over few rows (``NATIVE_MAX_PRODUCTS``), in fp32 on the CPU without
    gradients, run in ``decoder_layer.c``: results within fp32 rounding of the layer's own.

    The C code reads each weight transposed, from a copy made at the first native step and
    made again when a parameter changes in place.
    """

    def __init__(self, layer: DecoderLayer) -> None:
        nn.Module.__init__(self)  # adopts ``layer``'s sub-modules instead of making its own
        for name, child in layer.named_children():
            setattr(self, name, child)
        self.train(layer.training)
        self.kernel = _Kernel()
        linears = (self.self_attn.qkv_proj, self.self_attn.out_proj, self.cross_attn.q_proj,
                   self.cross_attn.out_proj, self.ffn.w_1, self.ffn.w_2)  # fmt: skip
        self.max_rows = NATIVE_MAX_PRODUCTS // sum(m.weight.numel() for m in linears)

    def __getstate__(self) -> dict:
        """Copies and pickles make their own kernel structure (it holds addresses)."""
        return {**self.__dict__, "kernel": _Kernel()}

    def forward(
        self,
        x: Tensor,
        memory: KeyValue | None,
        *,
        memory_mask: Tensor | None,
        past: KeyValueBuffer | None = None,
        self_mask: Tensor | None = None,
        maps: AttentionMaps | None = None,
    ) -> tuple[Tensor, KeyValue | KeyValueBuffer]:
        """``DecoderLayer.forward``; natively where ``native_applies`` says so."""
        rows = x.size(0) * x.size(1)
        if (
            rows <= self.max_rows
            and maps is None
            and native_applies(x, memory, memory_mask, past, self_mask)
        ):
            return self.native_step(x, memory, memory_mask=memory_mask, past=past,
                                    self_mask=self_mask)  # fmt: skip
        return super().forward(
            x, memory, memory_mask=memory_mask, past=past, self_mask=self_mask, maps=maps
        )

    def native_step(
        self,
        x: Tensor,
        memory: KeyValue,
        *,
        memory_mask: Tensor | None,
        past: KeyValueBuffer,
        self_mask: Tensor | None,
    ) -> tuple[Tensor, KeyValueBuffer]:
        """One step of the layer in one native call; the arguments as ``forward``'s, checked
        by ``native_applies``.

        Returns:
            (groups, width, d_model), and ``past`` grown by the rows' new entries.
        """
        groups, width, _ = x.shape
        out = x.contiguous().clone()
        key, value = memory.key.contiguous(), memory.value.contiguous()
        grown = past.grown(key, width)
        status = native_library().decoder_layer_step(
            ctypes.byref(self.kernel.of(self)), out.data_ptr(), groups, width,
            grown.buffer.data_ptr(), grown.buffer.size(3), past.length, _address(self_mask),
            key.data_ptr(), value.data_ptr(), key.size(2), _address(memory_mask),
        )  # fmt: skip
        if status:
            raise MemoryError("the native decoder layer found no memory for its scratch space")
        return out, grown


def _address(mask: Tensor | None) -> int | None:
    """The address of a bool mask's contiguous bytes, or None for no mask."""
    return None if mask is None else mask.contiguous().data_ptr()


def _described(layer: DecoderLayer) -> tuple[_Layer, list[Tensor]]:
    """The C structure of ``layer``'s weights, and the tensors it points into."""
    kept: list[Tensor] = []

    def keep(tensor: Tensor) -> int:
        kept.append(tensor.detach().contiguous())
        return kept[-1].data_ptr()

    def linear(module: nn.Module) -> _Linear:
        weight, bias = module.weight, module.bias
        bias = weight.new_zeros(module.out_features) if bias is None else bias
        return _Linear(keep(weight.t()), keep(bias), module.in_features, module.out_features)

    def norm(residual: nn.Module) -> _Norm:
        return _Norm(keep(residual.norm.weight), keep(residual.norm.bias), residual.norm.eps)

    attn, cross, ffn = layer.self_attn, layer.cross_attn, layer.ffn
    described = _Layer(
        attn.head_dim * attn.n_heads, attn.n_heads, ffn.w_1.out_features,
        int(layer.self_attn_residual.pre_norm), int(ffn.activation is F.silu),
        *(linear(m) for m in (attn.qkv_proj, attn.out_proj, cross.q_proj, cross.out_proj,
                              ffn.w_1, ffn.w_2)),
        *(norm(r) for r in (layer.self_attn_residual, layer.cross_attn_residual,
                            layer.ffn_residual)),
    )  # fmt: skip
    return described, kept


def native_applies(
    x: Tensor,
    memory: KeyValue | None,
    memory_mask: Tensor | None,
    past: KeyValueBuffer | None,
    self_mask: Tensor | None,
) -> bool:
    """Whether a decoder layer's call is a step that the native layer takes: new rows of fp32
    on the CPU, no gradient to record, no autocast; cross-attention; a self-attention cache
    of ``KeyValueBuffer``; a self-attention mask of one row per new position (none only for
    one new position per group) and a memory mask of one row per group, or none.

    Args:
        x: (groups, width, d_model), each group's new rows.
    """
    if memory is None or not isinstance(past, KeyValueBuffer):
        return False
    groups, width, _ = x.shape
    entries = past.length + width
    return (
        x.dtype is torch.float32
        and memory.key.dtype is torch.float32
        and x.is_cpu
        and not (torch.is_grad_enabled() and x.requires_grad)
        and not torch.is_autocast_enabled("cpu")
        and (width == 1 if self_mask is None else _mask_of(self_mask, (groups, 1, width, entries)))
        and (memory_mask is None or _mask_of(memory_mask, (groups, 1, 1, memory.key.size(2))))
    )


def _mask_of(mask: Tensor, shape: tuple[int, ...]) -> bool:
    """Whether ``mask`` is a bool mask of ``shape`` (not one to broadcast)."""
    return mask.dtype is torch.bool and mask.shape == shape


def native_layer_supported(layer: nn.Module) -> bool:
    """Whether ``layer`` is a decoder layer that ``decoder_layer.c`` can run: an encoder-decoder
    layer of plain linear layers (no adapters) with fp32 weights, layer norms with weights,
    and a ReLU or swish feed-forward network."""
    if type(layer) is not DecoderLayer or layer.cross_attn is None:
        return False
    attn, cross, ffn = layer.self_attn, layer.cross_attn, layer.ffn
    linears = (attn.qkv_proj, attn.out_proj, cross.q_proj, cross.out_proj, ffn.w_1, ffn.w_2)
    residuals = (layer.self_attn_residual, layer.cross_attn_residual, layer.ffn_residual)
    return (
        all(type(m) is nn.Linear and m.weight.dtype is torch.float32 for m in linears)
        and all(type(r.norm) is nn.LayerNorm and r.norm.weight is not None for r in residuals)
        and ffn.activation in (F.relu, F.silu)
    )


def use_native_layers(model: nn.Module) -> nn.Module:
    """Replace, in place, every decoder layer of ``model`` that the native kernel supports by
    a ``NativeDecoderLayer`` sharing its parameters, where the kernel could be built here;
    returns ``model``."""
    if native_library() is None:
        return model
    return replace_children(
        model, lambda _, child: NativeDecoderLayer(child) if native_layer_supported(child) else None
    )
