"""Weight initialization shared by the model's linear layers."""

from __future__ import annotations

from torch import nn


def init_linear(linear: nn.Linear, *, parts: int = 1, gain: float = 1.0) -> None:
    """Xavier-uniform weights per stacked (d_out / parts, d_in) block, zero bias (as fairseq)."""
    for block in linear.weight.detach().chunk(parts, dim=0):
        nn.init.xavier_uniform_(block, gain=gain)
    nn.init.zeros_(linear.bias)
