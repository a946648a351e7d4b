"""Label-smoothed cross-entropy (Szegedy et al. 2016), as used by the paper (Section 5.4)."""

from __future__ import annotations

from torch import Tensor, nn


class LabelSmoothedCrossEntropy(nn.Module):
    """Cross-entropy against (1 - eps) one-hot + eps uniform targets, padding ignored.

    loss = (1 - eps) * nll + eps * mean over the vocabulary of -log p, from one log-softmax
    (the same value as ``F.cross_entropy(label_smoothing=eps)``, without a second pass for the
    unsmoothed ``nll`` that perplexity needs).
    """

    def __init__(self, *, smoothing: float = 0.1, pad_id: int = 0) -> None:
        super().__init__()
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
        self.smoothing = smoothing
        self.pad_id = pad_id

    def forward(self, logits: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """Loss and negative log-likelihood per real token.

        Args:
            logits: (batch, tgt_len, vocab)
            target: (batch, tgt_len) long, ``pad_id`` where there is no token.

        Returns:
            (loss, nll), both scalars averaged over non-pad target tokens; nll is detached.
        """
        real = target.ne(self.pad_id)
        log_probs = logits[real].float().log_softmax(dim=-1)  # (tokens, vocab)
        nll = -log_probs.gather(1, target[real][:, None]).squeeze(1).mean()
        if self.smoothing == 0.0:
            return nll, nll.detach()
        uniform = -log_probs.mean(dim=-1).mean()
        return (1.0 - self.smoothing) * nll + self.smoothing * uniform, nll.detach()
