"""Our CPU dropout keeps the distribution of torch's."""

from __future__ import annotations

import pytest
import torch

from seq2seq.model.dropout import dropout, keep_mask


def test_dropout_zeroes_p_of_the_elements_and_keeps_the_mean() -> None:
    x = torch.ones(1000, 1000)
    out = dropout(x, 0.1, True)
    assert (out == 0).float().mean().item() == pytest.approx(0.1, abs=0.003)
    assert out.unique().tolist() == [0.0, pytest.approx(1 / 0.9)]
    assert out.mean().item() == pytest.approx(1.0, abs=0.005)


def test_dropout_is_identity_in_eval_and_gradient_follows_the_mask() -> None:
    x = torch.randn(50, 50, requires_grad=True)
    assert dropout(x, 0.3, False) is x
    out = dropout(x, 0.3, True)
    out.sum().backward()
    assert torch.equal(x.grad, (out != 0).float() / 0.7)


def test_dropout_is_reproducible_under_a_seed() -> None:
    x = torch.ones(20, 20)
    torch.manual_seed(5)
    first = dropout(x, 0.5, True)
    torch.manual_seed(5)
    assert torch.equal(first, dropout(x, 0.5, True))


def test_every_lane_of_a_random_word_drops_p_of_its_elements() -> None:
    """Four mask elements share one 64-bit draw: each of the four lanes must be uniform."""
    torch.manual_seed(0)
    keep = keep_mask(torch.Size([100_000, 4]), 0.3, device=torch.device("cpu"))
    dropped = 1.0 - keep.float().mean(dim=0)
    assert dropped.tolist() == pytest.approx([0.3] * 4, abs=0.01)
