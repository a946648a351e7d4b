"""The vocabulary projection restricted to some of its rows, in the form decoding prepared it
(``prepare_for_decoding``): a search over a shortlist multiplies by those rows alone."""

from __future__ import annotations

from torch import Tensor, nn
from torch.ao.nn.quantized import dynamic as quantized

from seq2seq.inference.runtime.packed import PackedLinear


def restricted(layer: nn.Module, rows: Tensor) -> nn.Module:
    """A layer whose output is ``layer(x)[..., rows]``, of ``layer``'s kind: an ``nn.Linear``, a
    ``PackedLinear`` (packed again, for the smaller weight) or a dynamically quantized linear
    layer (the same int8 weights: its outputs equal those columns of ``layer``'s).

    Args:
        layer: a linear layer of ``out_features`` outputs.
        rows: (kept,) long, the outputs to keep, in their order.
    """
    if isinstance(layer, quantized.Linear):
        return _restricted_quantized(layer, rows)
    rows = rows.to(layer.weight.device)
    linear = nn.Linear(
        layer.in_features, len(rows), bias=layer.bias is not None,
        device="meta", dtype=layer.weight.dtype,
    )  # fmt: skip
    linear.weight = nn.Parameter(layer.weight.detach().index_select(0, rows), requires_grad=False)
    if layer.bias is not None:
        linear.bias = nn.Parameter(layer.bias.detach().index_select(0, rows), requires_grad=False)
    return type(layer)(linear) if isinstance(layer, PackedLinear) else linear


def _restricted_quantized(layer: quantized.Linear, rows: Tensor) -> quantized.Linear:
    """``restricted`` for a dynamically quantized linear layer (CPU only)."""
    weight, bias = layer.weight(), layer.bias()
    kept = quantized.Linear(
        layer.in_features, len(rows), bias_=bias is not None, dtype=weight.dtype
    )
    rows = rows.cpu()
    kept.set_weight_bias(
        weight.index_select(0, rows), None if bias is None else bias.index_select(0, rows)
    )
    return kept
