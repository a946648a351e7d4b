"""Linear layers whose weights are kept pre-packed for a CPU matrix-product library, for decoding.

Every decoding step multiplies the same weights by a few rows (live beams). A plain
``F.linear`` first copies the weight into the blocked layout its kernel reads; a base-model
weight (2 MB to 16 MB) does not stay in the cache, so that copy costs 10-20% of the product
at 160 rows. Packing does the copy once (CTranslate2 offers the same through
``CT2_USE_EXPERIMENTAL_PACKED_GEMM``; PyTorch's compiler does it for frozen CPU models). MKL
packs best on Intel CPUs, oneDNN elsewhere (docs/benchmarks.md, "Decoding speed"). Results are
those of the library's own kernels: equal to ``F.linear``'s (MKL) or within fp32 rounding of
them (oneDNN).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seq2seq.common.cpu import cpu_vendor


def _has_ops(namespace: str, *names: str) -> bool:
    """Whether this PyTorch build registers the (private) operators ``torch.ops.NS.NAME``."""
    try:
        for name in names:
            getattr(getattr(torch.ops, namespace), name)
    except (AttributeError, RuntimeError):
        return False
    return True


def mkl_packing_available() -> bool:
    """Whether this PyTorch build has MKL with its packed-GEMM linear operators."""
    return torch.backends.mkl.is_available() and _has_ops("mkl", "_mkl_linear")


def onednn_packing_available() -> bool:
    """Whether this PyTorch build has oneDNN with its packed-weight linear operators."""
    return torch.backends.mkldnn.is_available() and _has_ops(
        "mkldnn", "_reorder_linear_weight", "_linear_pointwise"
    )


def packing_library() -> str | None:
    """The library whose packed products decode fastest on this CPU: "mkl" on Intel CPUs,
    "onednn" on other x86 CPUs, None where neither packs (the private operators missing from
    this PyTorch build, or not x86): then decoding uses ``F.linear``."""
    if cpu_vendor() == "GenuineIntel" and mkl_packing_available():
        return "mkl"
    if cpu_vendor() and onednn_packing_available():
        return "onednn"
    return None


class PackedLinear(nn.Module):
    """``nn.Linear`` (same parameters, same state dict) that multiplies through a packed weight.

    Inputs that need gradients, run under autocast, or are not fp32 on the CPU take
    ``F.linear``; subclasses pack for one library and remake the packed copy when the weight
    is changed in place.
    """

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.weight = linear.weight
        self.bias = linear.bias

    def forward(self, x: Tensor) -> Tensor:
        """(..., in_features) -> (..., out_features)."""
        if not self._packable(x):
            return F.linear(x, self.weight, self.bias)
        return self.packed_product(x)

    def packed_product(self, x: Tensor) -> Tensor:
        """``F.linear(x, weight, bias)`` through the packed weight, for a packable ``x``."""
        raise NotImplementedError

    def _packable(self, x: Tensor) -> bool:
        return (
            x.device.type == "cpu"
            and x.dtype == torch.float32
            and self.weight.dtype == torch.float32
            and not (torch.is_grad_enabled() and (x.requires_grad or self.weight.requires_grad))
            and not torch.is_autocast_enabled("cpu")
        )

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, packed"


class MklPackedLinear(PackedLinear):
    """Packed for MKL's GEMM, whose layout depends on the number of input rows: it is made the
    second time in a row that a row count is seen (packing costs about as much as one
    unpacked product; a decoder sees the same count step after step)."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__(linear)
        self._last_rows = 0
        self._packed: tuple[int, int, Tensor] | None = None  # rows, weight version, weight

    def packed_product(self, x: Tensor) -> Tensor:
        rows = x.numel() // self.in_features
        packed = self._packed_for(rows)
        self._last_rows = rows
        if packed is None:
            return F.linear(x, self.weight, self.bias)
        return torch.ops.mkl._mkl_linear(x, packed, self.weight, self.bias, rows)

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


class OneDnnPackedLinear(PackedLinear):
    """Packed for oneDNN's matrix product, one layout for every number of input rows (measured
    alike for 32 to 768 rows), made at the first product. A single row goes through
    ``F.linear``, whose matrix-vector kernel is 20-80x faster there than oneDNN's packed
    product for the layers' weights (Zen 4, 2 threads; from 2 rows on, packed is as fast or
    faster): one sentence decoded greedily, or one text sampled, is one row per step."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__(linear)
        self._packed: tuple[int, Tensor] | None = None  # weight version, weight

    def packed_product(self, x: Tensor) -> Tensor:
        if x.numel() == self.in_features:
            return F.linear(x, self.weight, self.bias)
        version = self.weight._version
        if self._packed is None or self._packed[0] != version:
            packed = torch.ops.mkldnn._reorder_linear_weight(self.weight.detach(), None)
            self._packed = (version, packed)
        return torch.ops.mkldnn._linear_pointwise(x, self._packed[1], self.bias, "none", [], "")


PACKED_CLASSES: dict[str, type[PackedLinear]] = {
    "mkl": MklPackedLinear,
    "onednn": OneDnnPackedLinear,
}


def pack_linear_layers(module: nn.Module, *, library: str) -> nn.Module:
    """Replace, in place, every ``nn.Linear`` inside ``module`` by a ``PackedLinear`` for
    ``library`` (a key of ``PACKED_CLASSES``) sharing its parameters (tied weights stay tied);
    returns ``module``."""
    packed_class = PACKED_CLASSES[library]
    for parent in list(module.modules()):
        for name, child in parent.named_children():
            if type(child) is nn.Linear:
                setattr(parent, name, packed_class(child))
    return module
