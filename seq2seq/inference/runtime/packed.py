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
from seq2seq.model.replace import replace_children


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


SMALL_WEIGHT = 2**18  # elements (1 MB in fp32): the tiny preset's layers, not the base one's
FEW_OUTPUTS = 2**14  # rows x out_features of a product


class PackedWeight:
    """A layer's packed copy of its weight and what it was made for: a plain object, so that
    the per-product bookkeeping skips ``nn.Module``'s attribute machinery (a decoding step of
    a small model is ruled by such fixed costs, not by its products).

    Attributes:
        weight: the packed weight, or None before the first packing.
        rows: the input rows it is packed for (MKL); 0 where one layout serves every count.
        version: the source weight's ``_version`` when packed (in-place changes repack).
        last_rows: the input rows of the latest product (MKL packs for a count seen twice
            in a row).
    """

    __slots__ = ("last_rows", "rows", "version", "weight")

    def __init__(self) -> None:
        self.weight: Tensor | None = None
        self.rows = self.version = self.last_rows = 0

    def holds(self, rows: int, version: int) -> bool:
        """Whether the packed weight is for ``rows`` input rows and the weight's ``version``."""
        return self.weight is not None and self.rows == rows and self.version == version

    def keep(self, weight: Tensor, *, rows: int, version: int) -> Tensor:
        """Hold ``weight``, packed for ``rows`` from ``version``; returns it."""
        self.weight, self.rows, self.version = weight, rows, version
        return weight


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
        self.packed = PackedWeight()

    def forward(self, x: Tensor) -> Tensor:
        """(..., in_features) -> (..., out_features)."""
        weight = self.weight
        if _packable(x, weight):
            return self.packed_product(x, weight)
        return F.linear(x, weight, self.bias)

    def packed_product(self, x: Tensor, weight: Tensor) -> Tensor:
        """``F.linear(x, weight, bias)`` through the packed ``weight``, for a packable ``x``."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, packed"


def _version(weight: Tensor) -> int:
    """How often ``weight`` was changed in place; 0 for a weight made in inference mode (a
    shortlist's rows of the projection, cut as a search starts), which keeps no count."""
    return 0 if weight.is_inference() else weight._version


def _packable(x: Tensor, weight: Tensor) -> bool:
    """Whether a product of ``x`` by ``weight`` may go through the packed copy: fp32 on the
    CPU, outside autocast, with no gradient to record. Cheapest tests first: this runs for
    every product of a decoding step."""
    return (
        x.dtype is torch.float32
        and weight.dtype is torch.float32
        and x.is_cpu
        and not (torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad))
        and not torch.is_autocast_enabled("cpu")
    )


class MklPackedLinear(PackedLinear):
    """Packed for MKL's GEMM, whose layout depends on the number of input rows: it is made the
    second time in a row that a row count is seen (packing costs about as much as one
    unpacked product; a decoder sees the same count step after step)."""

    def packed_product(self, x: Tensor, weight: Tensor) -> Tensor:
        rows = x.numel() // self.in_features
        packed = self._packed_for(rows, weight)
        self.packed.last_rows = rows
        if packed is None:
            return F.linear(x, weight, self.bias)
        return torch.ops.mkl._mkl_linear(x, packed, weight, self.bias, rows)

    def _packed_for(self, rows: int, weight: Tensor) -> Tensor | None:
        """The weight packed for ``rows`` input rows, or None while the count is new."""
        version = _version(weight)
        if self.packed.holds(rows, version):
            return self.packed.weight
        if rows != self.packed.last_rows:
            return None
        packed = torch.ops.mkl._mkl_reorder_linear_weight(weight.detach(), rows)
        return self.packed.keep(packed, rows=rows, version=version)


class OneDnnPackedLinear(PackedLinear):
    """Packed for oneDNN's matrix product, one layout for every number of input rows (measured
    alike for 32 to 768 rows), made at the first packed product.

    A small weight (under ``SMALL_WEIGHT`` elements, which stays in a core's cache, so that
    ``F.linear``'s copy of it is cheap) goes through ``F.linear`` instead when it multiplies a
    single row or into few outputs (rows x out_features under ``FEW_OUTPUTS``), where oneDNN's
    fixed cost per call (6-13 us more on Zen 4) exceeds what packing saves: the tiny preset's
    layers when one sentence is decoded greedily or with a beam of 4, 20% of its decoding time
    (docs/benchmarks.md, "Decoding speed"). A larger weight stays packed even for one row:
    ``F.linear``'s matrix-vector product reads it 1.3-4x slower (an output projection of
    8000 x 512: 1,735 against 429 us on one thread).
    """

    def packed_product(self, x: Tensor, weight: Tensor) -> Tensor:
        rows = x.numel() // self.in_features
        if weight.numel() < SMALL_WEIGHT and (rows == 1 or rows * self.out_features < FEW_OUTPUTS):
            return F.linear(x, weight, self.bias)
        version = _version(weight)
        packed = self.packed.weight
        if not self.packed.holds(0, version):
            packed = torch.ops.mkldnn._reorder_linear_weight(weight.detach(), None)
            self.packed.keep(packed, rows=0, version=version)
        return torch.ops.mkldnn._linear_pointwise(x, packed, self.bias, "none", [], "")


PACKED_CLASSES: dict[str, type[PackedLinear]] = {
    "mkl": MklPackedLinear,
    "onednn": OneDnnPackedLinear,
}


def pack_linear_layers(module: nn.Module, *, library: str) -> nn.Module:
    """Replace, in place, every ``nn.Linear`` inside ``module`` by a ``PackedLinear`` for
    ``library`` (a key of ``PACKED_CLASSES``) sharing its parameters (tied weights stay tied);
    returns ``module``."""
    packed_class = PACKED_CLASSES[library]
    return replace_children(
        module, lambda _, child: packed_class(child) if type(child) is nn.Linear else None
    )
