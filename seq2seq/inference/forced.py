"""Forced decoding: the probability that a translation model gives a given target for a
given source, token by token, as teacher forcing computes it in training."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from seq2seq.common.special import PAD_ID
from seq2seq.data.batching import Batch, collate, collate_joined
from seq2seq.inference.batches import token_batches
from seq2seq.model import Model


def teacher_forced_logits(model: Model, batch: Batch) -> Tensor:
    """The logits of every real token of ``batch.target`` (eos included) given what comes
    before it: (target tokens, vocab), in the order of ``batch.target[batch.target != 0]``.

    An encoder-decoder reads ``batch.src`` and ``batch.prev_output``; a decoder-only model
    ``batch.prev_output`` alone (a language model's sentence, or a pair joined).
    """
    real = batch.target.ne(PAD_ID)
    if model.cfg.decoder_only:
        return model(batch.prev_output, select=real)
    return model(batch.src, batch.prev_output, select=real)


@torch.no_grad()
def pair_log_probabilities(
    model: Model, sources: list[list[int]], targets: list[list[int]], *, max_batch_tokens: int
) -> list[Tensor]:
    """log p(y_i | y_<i, x) of every target token and of the eos after them.

    Args:
        sources: token ids without eos.
        targets: token ids without bos and eos.
        max_batch_tokens: source and target tokens per forward pass, padding included.

    Returns:
        Per pair, (len(target) + 1,) float, eos last.
    """
    device = next(model.parameters()).device
    joined = model.cfg.decoder_only
    collate_pairs = collate_joined if joined else collate
    sizes = [len(s) + len(t) + 3 if joined else max(len(s), len(t)) + 1
             for s, t in zip(sources, targets, strict=True)]  # fmt: skip
    order = sorted(range(len(sizes)), key=lambda i: -sizes[i])
    results: list[Tensor] = [torch.empty(0)] * len(sizes)
    for group in token_batches(order, sizes, max_batch_tokens):
        examples = [(i, np.array(sources[i]), np.array(targets[i])) for i in group]
        batch = collate_pairs(examples)
        batch = Batch(*(t.to(device) for t in (batch.src, batch.prev_output, batch.target)),
                      batch.indices)  # fmt: skip
        log_probs = teacher_forced_logits(model, batch).float().log_softmax(-1)
        chosen = log_probs.gather(1, batch.target[batch.target.ne(PAD_ID)][:, None])[:, 0]
        for index, scores in zip(group, chosen.cpu().split([len(targets[i]) + 1 for i in group]),
                                 strict=True):  # fmt: skip
            results[index] = scores
    return results
