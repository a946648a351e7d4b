"""Token embeddings and positional encodings (Vaswani et al. 2017, Sections 3.4 and 3.5)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from seq2seq.common.special import PAD_ID
from seq2seq.model.config import TransformerConfig
from seq2seq.model.dropout import dropout


def sinusoidal_table(max_positions: int, d_model: int) -> Tensor:
    """PE(pos, i) = sin(pos / 10000^(2i/d_model)) and cos(...) of the same angle.

    Layout [sin | cos]: the first d_model/2 channels hold the sines, the last d_model/2 the
    cosines of the same frequencies (fairseq, Marian and Hugging Face MarianMT use it; the paper
    interleaves them, which is the same encoding up to a fixed permutation of channels).

    Returns:
        (max_positions, d_model) float32.
    """
    half = d_model // 2
    frequencies = torch.exp(
        torch.arange(half, dtype=torch.float64) * (-math.log(10000.0) * 2 / d_model)
    )
    angles = torch.arange(max_positions, dtype=torch.float64)[:, None] * frequencies[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=1).float()


class PositionalEncoding(nn.Module):
    """Position information added to the embeddings, Section 3.5.

    Sinusoidal by default: fixed, nothing learned, nothing saved in the weights. With
    ``learned=True``, a trained table of the same shape (the paper's Table 3, row E).
    """

    def __init__(self, max_positions: int, d_model: int, *, learned: bool = False) -> None:
        super().__init__()
        if learned:
            self.table = nn.Parameter(torch.randn(max_positions, d_model) * d_model**-0.5)
        else:
            self.register_buffer(
                "table", sinusoidal_table(max_positions, d_model), persistent=False
            )

    def forward(self, length: int) -> Tensor:
        """Encodings of positions 0 .. length - 1, shape (length, d_model)."""
        self._check(length)
        return self.table[:length]

    def at(self, positions: Tensor) -> Tensor:
        """Encodings of the given positions: (...) long -> (..., d_model)."""
        if positions.numel():
            self._check(int(positions.max()) + 1)
        return self.table[positions]

    def _check(self, length: int) -> None:
        if length > self.table.size(0):
            raise ValueError(
                f"sequence of {length} positions exceeds max_positions ({self.table.size(0)})"
            )


class TokenEmbedding(nn.Embedding):
    """Token ids -> vectors multiplied by sqrt(d_model), Section 3.4.

    The padding row is zero. Initialised N(0, d_model^-1/2) so the scaled vectors start at
    unit variance, the same scale as the position encodings they are added to.
    """

    def __init__(self, vocab_size: int, d_model: int) -> None:
        super().__init__(vocab_size, d_model, padding_idx=PAD_ID)
        self.scale = math.sqrt(d_model)
        nn.init.normal_(self.weight, std=d_model**-0.5)
        with torch.no_grad():
            self.weight[PAD_ID].zero_()

    def forward(self, tokens: Tensor) -> Tensor:
        """(batch, len) long -> (batch, len, d_model)."""
        return super().forward(tokens) * self.scale


class InputEmbedding(nn.Module):
    """Dropout(token embedding * sqrt(d_model) + position encoding): the input of either stack.

    Sections 3.4, 3.5 and 5.4 ("we apply dropout to the sums of the embeddings and the
    positional encodings in both the encoder and decoder stacks").
    """

    def __init__(self, cfg: TransformerConfig, tokens: TokenEmbedding) -> None:
        super().__init__()
        self.tokens = tokens
        self.positions = PositionalEncoding(
            cfg.max_positions, cfg.d_model, learned=cfg.learned_positions
        )
        self.dropout = cfg.dropout

    def forward(self, ids: Tensor, *, positions: Tensor | None = None) -> Tensor:
        """Embed token ids at their positions.

        Args:
            ids: (batch, len) long.
            positions: (len,) long, the position of each column, or (batch, len) of each
                token (rows whose prompts are left-padded); None for 0 .. len - 1.

        Returns:
            (batch, len, d_model)
        """
        encoded = self.positions(ids.size(1)) if positions is None else self.positions.at(positions)
        return dropout(self.tokens(ids) + encoded, self.dropout, self.training)
