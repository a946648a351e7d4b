"""Positional encodings and token embeddings (Sections 3.4 and 3.5)."""

from __future__ import annotations

import math

import pytest
import torch
from torch.testing import assert_close

from seq2seq.model import PositionalEncoding, TokenEmbedding
from seq2seq.model.embedding import sinusoidal_table


@pytest.mark.parametrize(("pos", "i"), [(0, 0), (1, 0), (7, 3), (50, 15), (1023, 31)])
def test_sinusoids_follow_the_paper_in_sin_then_cos_halves(pos: int, i: int) -> None:
    d_model = 64
    table = sinusoidal_table(1024, d_model)
    angle = pos / 10000 ** (2 * i / d_model)
    assert table[pos, i].item() == pytest.approx(math.sin(angle), abs=1e-6)
    assert table[pos, d_model // 2 + i].item() == pytest.approx(math.cos(angle), abs=1e-6)


def test_sinusoidal_positions_are_not_saved_and_learned_ones_are() -> None:
    assert PositionalEncoding(16, 8).state_dict() == {}
    learned = PositionalEncoding(16, 8, learned=True)
    assert list(learned.state_dict()) == ["table"]
    assert learned.table.requires_grad


def test_positions_at_given_indices_are_those_rows_of_the_sequence() -> None:
    positions = PositionalEncoding(32, 8)
    assert_close(positions.at(torch.tensor([5, 6, 5])), positions(8)[[5, 6, 5]])


def test_too_many_positions_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="exceeds max_positions"):
        PositionalEncoding(16, 8)(17)
    with pytest.raises(ValueError, match="sequence of 17 positions exceeds max_positions"):
        PositionalEncoding(16, 8).at(torch.tensor([3, 16]))


def test_token_embedding_is_scaled_by_sqrt_d_model_and_pad_is_zero() -> None:
    embedding = TokenEmbedding(10, 16)
    tokens = torch.tensor([[0, 5, 9]])
    out = embedding(tokens)
    assert_close(out[0, 1], embedding.weight[5] * 4.0)
    assert (out[0, 0] == 0).all()
