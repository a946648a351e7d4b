"""Label-smoothed cross-entropy: torch's value, padding ignored, nll for perplexity."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from seq2seq.training.loss import LabelSmoothedCrossEntropy


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_equals_torch_cross_entropy_with_label_smoothing(smoothing: float) -> None:
    logits, target = torch.randn(3, 6, 17), torch.randint(1, 17, (3, 6))
    target[1, 4:] = 0
    loss, nll = LabelSmoothedCrossEntropy(smoothing=smoothing)(logits, target)
    flat = logits.flatten(0, 1), target.flatten()
    assert_close(loss, F.cross_entropy(*flat, ignore_index=0, label_smoothing=smoothing))
    assert_close(nll, F.cross_entropy(*flat, ignore_index=0))


def test_padding_positions_do_not_count() -> None:
    logits, target = torch.randn(1, 4, 9), torch.tensor([[5, 6, 0, 0]])
    changed = logits.clone()
    changed[0, 2:] = 100.0
    criterion = LabelSmoothedCrossEntropy(smoothing=0.1)
    assert_close(criterion(logits, target)[0], criterion(changed, target)[0])


def test_gradient_flows_only_through_the_loss() -> None:
    logits = torch.randn(2, 3, 5, requires_grad=True)
    loss, nll = LabelSmoothedCrossEntropy()(logits, torch.randint(1, 5, (2, 3)))
    loss.backward()
    assert logits.grad is not None and not nll.requires_grad
