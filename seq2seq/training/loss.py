"""Label-smoothed cross-entropy (Szegedy et al. 2016), as used by the paper (Section 5.4)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class LabelSmoothedCrossEntropy(nn.Module):
    """Cross-entropy against (1 - eps) one-hot + eps uniform targets, padding ignored.

    Returns the mean over real target tokens; ``nll`` is the unsmoothed loss for perplexity.
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
            (loss, nll), both scalars averaged over non-pad target tokens.
        """
        flat_logits, flat_target = logits.flatten(0, 1).float(), target.flatten()
        loss = F.cross_entropy(
            flat_logits, flat_target, ignore_index=self.pad_id, label_smoothing=self.smoothing
        )
        if self.smoothing == 0.0:
            return loss, loss.detach()
        nll = F.cross_entropy(flat_logits.detach(), flat_target, ignore_index=self.pad_id)
        return loss, nll
