"""Residual connection, dropout and layer normalization around a sub-layer (Section 3.1)."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from seq2seq.model.dropout import dropout


class ResidualNorm(nn.Module):
    """LayerNorm(x + Dropout(Sublayer(x))), the paper's post-LN order; pre-LN as an option.

    A layer calls ``normalize_input`` on the sub-layer's input and ``add`` on its output:

    - post-LN (paper): input x unchanged, output LayerNorm(x + Dropout(y));
    - pre-LN: input LayerNorm(x), output x + Dropout(y) (the stack then ends with a LayerNorm).
    """

    def __init__(self, d_model: int, *, dropout: float, pre_norm: bool, eps: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d_model, eps=eps)
        self.dropout = dropout
        self.pre_norm = pre_norm

    def normalize_input(self, x: Tensor) -> Tensor:
        """The sub-layer's input: (batch, len, d_model) -> (batch, len, d_model)."""
        return self.norm(x) if self.pre_norm else x

    def add(self, x: Tensor, sublayer_out: Tensor) -> Tensor:
        """Residual sum of x and the sub-layer's output, both (batch, len, d_model)."""
        summed = x + dropout(sublayer_out, self.dropout, self.training)
        return summed if self.pre_norm else self.norm(summed)

    def forward(self, x: Tensor, sublayer: Callable[[Tensor], Tensor]) -> Tensor:
        """The whole block for a sub-layer that maps (batch, len, d_model) to the same shape."""
        return self.add(x, sublayer(self.normalize_input(x)))
