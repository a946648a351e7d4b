"""The vocabulary projection restricted to some of its rows, in the form decoding prepared it
(``prepare_for_decoding``): a search over a shortlist multiplies by those rows alone."""

from __future__ import annotations

from weakref import WeakKeyDictionary

import torch
from torch import Tensor, nn
from torch.ao.nn.quantized import dynamic as quantized

from seq2seq.inference.runtime.native.int8 import NativeInt8Linear
from seq2seq.inference.runtime.packed import PackedLinear


def restricted(layer: nn.Module, rows: Tensor) -> nn.Module:
    """A layer whose output is ``layer(x)[..., rows]``, of ``layer``'s kind: an ``nn.Linear``, a
    ``PackedLinear`` (packed again, for the smaller weight), a ``NativeInt8Linear`` of those
    rows, or for a dynamically quantized linear layer a ``QuantizedRows`` (int8 layers keep
    the same int8 weights: their outputs equal those columns of ``layer``'s).

    Args:
        layer: a linear layer of ``out_features`` outputs.
        rows: (kept,) long, the outputs to keep, in their order.
    """
    if isinstance(layer, quantized.Linear):
        return _restricted_quantized(layer, rows)
    if isinstance(layer, NativeInt8Linear):
        return layer.rows(rows)
    rows = rows.to(layer.weight.device)
    linear = nn.Linear(
        layer.in_features, len(rows), bias=layer.bias is not None,
        device="meta", dtype=layer.weight.dtype,
    )  # fmt: skip
    linear.weight = nn.Parameter(layer.weight.detach().index_select(0, rows), requires_grad=False)
    if layer.bias is not None:
        linear.bias = nn.Parameter(layer.bias.detach().index_select(0, rows), requires_grad=False)
    return type(layer)(linear) if isinstance(layer, PackedLinear) else linear


class QuantizedRows(nn.Module):
    """Some rows of a dynamically quantized linear layer: its forward, over their int8 weights
    packed alone."""

    def __init__(self, packed: torch.ScriptObject) -> None:
        super().__init__()
        self.packed = packed

    def forward(self, x: Tensor) -> Tensor:
        """(..., in_features) -> (..., kept rows), as ``quantized.Linear.forward`` computes."""
        return torch.ops.quantized.linear_dynamic(x, self.packed, reduce_range=True).to(x.dtype)


# Each quantized layer's int8 weight and bias, unpacked once: unpacking the whole weight costs
# more than packing the kept rows (30 ms for 8,000 x 512 against 1.3 ms for 1,000 rows), and a
# search restricts the same layer once per batch. Freed with the layer.
_UNPACKED: WeakKeyDictionary[quantized.Linear, tuple[Tensor, Tensor | None]] = WeakKeyDictionary()


def _restricted_quantized(layer: quantized.Linear, rows: Tensor) -> QuantizedRows:
    """``restricted`` for a dynamically quantized linear layer (CPU only)."""
    if layer not in _UNPACKED:
        _UNPACKED[layer] = layer._weight_bias()
    weight, bias = _UNPACKED[layer]
    rows = rows.cpu()
    kept_bias = None if bias is None else bias.index_select(0, rows)
    return QuantizedRows(
        torch.ops.quantized.linear_prepack(weight.index_select(0, rows), kept_bias)
    )
