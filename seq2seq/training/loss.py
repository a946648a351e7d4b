"""Label-smoothed cross-entropy (Szegedy et al. 2016), as used by the paper (Section 5.4)."""

from __future__ import annotations

from torch import Tensor, nn


class LabelSmoothedCrossEntropy(nn.Module):
    """Cross-entropy against (1 - eps) one-hot + eps uniform targets, over real tokens only.

    loss = (1 - eps) * nll + eps * mean over the vocabulary of -log p, from one log-softmax
    (the same value as ``F.cross_entropy(label_smoothing=eps)``, without a second pass for the
    unsmoothed ``nll`` that perplexity needs). Padding never reaches the loss: the model is asked
    for the logits of the real target tokens only (``Transformer.forward(select=...)``).
    """

    def __init__(self, *, smoothing: float = 0.1) -> None:
        super().__init__()
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
        self.smoothing = smoothing

    def forward(self, logits: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """Loss and negative log-likelihood, averaged over the tokens.

        Args:
            logits: (tokens, vocab), one row per real target token.
            target: (tokens,) long, the reference ids.

        Returns:
            (loss, nll), both scalars; nll is detached.
        """
        log_probs = logits.float().log_softmax(dim=-1)  # (tokens, vocab)
        nll = -log_probs.gather(1, target[:, None]).squeeze(1).mean()
        if self.smoothing == 0.0:
            return nll, nll.detach()
        uniform = -log_probs.mean(dim=-1).mean()
        return (1.0 - self.smoothing) * nll + self.smoothing * uniform, nll.detach()
