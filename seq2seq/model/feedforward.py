"""Position-wise feed-forward network (Vaswani et al. 2017, Section 3.3)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from seq2seq.model.dropout import dropout
from seq2seq.model.init import init_linear

ACTIVATION_FUNCTIONS = {"relu": F.relu, "swish": F.silu}


class PositionwiseFeedForward(nn.Module):
    """FFN(x) = max(0, x W_1 + b_1) W_2 + b_2, Eq. (2), applied to each position alike; with
    ``activation="swish"``, swish(x W_1 + b_1) W_2 + b_2 (OPUS-MT's Marian models)."""

    def __init__(
        self,
        d_model: int,
        ffn_dim: int,
        *,
        activation_dropout: float = 0.0,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.activation = ACTIVATION_FUNCTIONS[activation]
        self.w_1 = nn.Linear(d_model, ffn_dim)
        self.w_2 = nn.Linear(ffn_dim, d_model)
        init_linear(self.w_1)
        init_linear(self.w_2)
        self.activation_dropout = activation_dropout

    def forward(self, x: Tensor) -> Tensor:
        """(batch, len, d_model) -> (batch, len, d_model)."""
        hidden = dropout(self.activation(self.w_1(x)), self.activation_dropout, self.training)
        return self.w_2(hidden)
