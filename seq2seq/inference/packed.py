"""Linear layers whose weights are kept pre-packed for MKL's matrix product, for CPU decoding.

Every decoding step multiplies the same weights by the same number of rows (live beams). For
each call MKL's ``sgemm`` first copies the weight into the blocked layout its kernel reads;
a base-model weight (2 MB to 16 MB) does not stay in the cache, so that copy costs 10-20% of
the product at 160 rows (docs/benchmarks.md). MKL's packed GEMM API does the copy once and
reuses it (CTranslate2 offers the same through ``CT2_USE_EXPERIMENTAL_PACKED_GEMM``; PyTorch's
compiler uses it for frozen fp32 CPU models). The results are MKL's own, the same as
``F.linear``'s.

That copy is what Intel CPUs pay for; on an AMD EPYC (Zen 4) packed products were no faster
than ``F.linear`` and greedy decoding of the base preset was about 10% slower with them, so
decoding packs on Intel CPUs only (``packing_pays``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seq2seq.cpu import cpu_vendor


def mkl_packing_available() -> bool:
    """Whether this PyTorch build has MKL with its packed-GEMM linear operators."""
    if not torch.backends.mkl.is_available():
        return False
    try:
        torch.ops.mkl._mkl_linear  # noqa: B018  (looked up to see whether it exists)
    except (AttributeError, RuntimeError):
        return False
    return True


def packing_pays() -> bool:
    """Whether decoding here is faster with packed weights: MKL's packed GEMM exists and the
    CPU is Intel's (measured on Sapphire Rapids and on AMD EPYC, docs/benchmarks.md)."""
    return mkl_packing_available() and cpu_vendor() == "GenuineIntel"


class PackedLinear(nn.Module):
    """``nn.Linear`` (same parameters, same state dict) that multiplies through a packed weight.

    The packed layout depends on the number of input rows, so it is made the second time in a
    row that a row count is seen (packing costs about as much as one unpacked product; a
    decoder sees the same count step after step) and remade when the weight is changed in
    place. Inputs that need gradients, run under autocast, or are not fp32 on the CPU take
    ``F.linear``.
    """

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.weight = linear.weight
        self.bias = linear.bias
        self._last_rows = 0
        self._packed: tuple[int, int, Tensor] | None = None  # rows, weight version, weight

    def forward(self, x: Tensor) -> Tensor:
        """(..., in_features) -> (..., out_features)."""
        if not self._packable(x):
            return F.linear(x, self.weight, self.bias)
        rows = x.numel() // self.in_features
        packed = self._packed_for(rows)
        self._last_rows = rows
        if packed is None:
            return F.linear(x, self.weight, self.bias)
        return torch.ops.mkl._mkl_linear(x, packed, self.weight, self.bias, rows)

    def _packable(self, x: Tensor) -> bool:
        return (
            x.device.type == "cpu"
            and x.dtype == torch.float32
            and self.weight.dtype == torch.float32
            and not (torch.is_grad_enabled() and (x.requires_grad or self.weight.requires_grad))
            and not torch.is_autocast_enabled("cpu")
        )

    def _packed_for(self, rows: int) -> Tensor | None:
        """The weight packed for ``rows`` input rows, or None while the count is new."""
        version = self.weight._version
        if self._packed is not None and self._packed[:2] == (rows, version):
            return self._packed[2]
        if rows != self._last_rows:
            return None
        packed = torch.ops.mkl._mkl_reorder_linear_weight(self.weight.detach(), rows)
        self._packed = (rows, version, packed)
        return packed

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, packed"


def pack_linear_layers(module: nn.Module) -> nn.Module:
    """Replace, in place, every ``nn.Linear`` inside ``module`` by a ``PackedLinear`` sharing
    its parameters (tied weights stay tied); returns ``module``. Does nothing where MKL's
    packed GEMM is not available."""
    if not mkl_packing_available():
        return module
    for parent in list(module.modules()):
        for name, child in parent.named_children():
            if type(child) is nn.Linear:
                setattr(parent, name, PackedLinear(child))
    return module
