"""Label-smoothed cross-entropy (Szegedy et al. 2016), as used by the paper (Section 5.4), and
R-Drop's consistency term (Wu et al. 2021) for training on two dropout passes."""

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
        return self._from_log_probs(logits.float().log_softmax(dim=-1), target)

    def paired(
        self, first: Tensor, second: Tensor, target: Tensor, *, alpha: float
    ) -> tuple[Tensor, Tensor, Tensor]:
        """R-Drop: the loss of two forward passes of the same tokens, and their disagreement.

        loss = (loss_1 + loss_2) / 2 + alpha * (KL(p_1 || p_2) + KL(p_2 || p_1)) / 4, averaged
        over the tokens: Wu et al.'s per-token objective halved, so that alpha means what it
        means in their paper and fairseq's ``--reg-alpha`` while alpha = 0 gives the usual loss.

        Args:
            first, second: (tokens, vocab), the logits of the same tokens from two passes with
                different dropout.
            target: (tokens,) long, the reference ids.

        Returns:
            (loss, nll, kl): scalars; nll is the two passes' mean and kl that of
            (KL(p_1 || p_2) + KL(p_2 || p_1)) / 2 over the tokens, both detached.
        """
        log_p = first.float().log_softmax(dim=-1)  # (tokens, vocab)
        log_q = second.float().log_softmax(dim=-1)
        loss_p, nll_p = self._from_log_probs(log_p, target)
        loss_q, nll_q = self._from_log_probs(log_q, target)
        # KL(p || q) + KL(q || p) = sum over the vocabulary of (p - q) (log p - log q)
        kl = ((log_p.exp() - log_q.exp()) * (log_p - log_q)).sum(dim=-1).mean()
        loss = (loss_p + loss_q) / 2 + alpha * kl / 4
        return loss, (nll_p + nll_q) / 2, kl.detach() / 2

    def _from_log_probs(self, log_probs: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        nll = -log_probs.gather(1, target[:, None]).squeeze(1).mean()
        if self.smoothing == 0.0:
            return nll, nll.detach()
        uniform = -log_probs.mean(dim=-1).mean()
        return (1.0 - self.smoothing) * nll + self.smoothing * uniform, nll.detach()
