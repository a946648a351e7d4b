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


def test_paired_passes_that_agree_give_the_usual_loss() -> None:
    logits, target = torch.randn(9, 13), torch.randint(1, 13, (9,))
    criterion = LabelSmoothedCrossEntropy(smoothing=0.1)
    loss, nll, kl = criterion.paired(logits, logits.clone(), target, alpha=5.0)
    expected_loss, expected_nll = criterion(logits, target)
    assert_close(loss, expected_loss)
    assert_close(nll, expected_nll)
    assert_close(kl, torch.tensor(0.0))


def test_paired_adds_alpha_times_the_symmetric_kl_as_r_drop_defines_it() -> None:
    first, second = torch.randn(9, 13), torch.randn(9, 13)
    target = torch.randint(1, 13, (9,))
    criterion = LabelSmoothedCrossEntropy(smoothing=0.1)
    loss, nll, kl = criterion.paired(first, second, target, alpha=5.0)
    log_p, log_q = first.log_softmax(-1), second.log_softmax(-1)
    kl_pq = F.kl_div(log_q, log_p, log_target=True, reduction="batchmean")  # KL(p || q)
    kl_qp = F.kl_div(log_p, log_q, log_target=True, reduction="batchmean")
    ce = [F.cross_entropy(logits, target, label_smoothing=0.1) for logits in (first, second)]
    assert_close(loss, (ce[0] + ce[1]) / 2 + 5.0 * (kl_pq + kl_qp) / 4)
    assert_close(kl, (kl_pq + kl_qp) / 2)
    nlls = [F.cross_entropy(logits, target) for logits in (first, second)]
    assert_close(nll, (nlls[0] + nlls[1]) / 2)
