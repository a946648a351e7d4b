"""Label-smoothed cross-entropy: torch's value, nll for perplexity, gradient only via the loss."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from seq2seq.training.loss import LabelSmoothedCrossEntropy


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_equals_torch_cross_entropy_with_label_smoothing(smoothing: float) -> None:
    logits, target = torch.randn(11, 17), torch.randint(1, 17, (11,))
    loss, nll = LabelSmoothedCrossEntropy(smoothing=smoothing)(logits, target)
    assert_close(loss, F.cross_entropy(logits, target, label_smoothing=smoothing))
    assert_close(nll, F.cross_entropy(logits, target))


def test_smoothing_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="smoothing must be in"):
        LabelSmoothedCrossEntropy(smoothing=1.0)


def test_gradient_flows_only_through_the_loss() -> None:
    logits = torch.randn(6, 5, requires_grad=True)
    loss, nll = LabelSmoothedCrossEntropy()(logits, torch.randint(1, 5, (6,)))
    loss.backward()
    assert logits.grad is not None and not nll.requires_grad
