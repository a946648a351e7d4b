"""Forced decoding: the probability that a translation model (or an ensemble) gives a given
target for a given source, token by token, as teacher forcing computes it in training."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from seq2seq.common.special import PAD_ID
from seq2seq.data.batching import Batch, collate_function, pair_tokens
from seq2seq.inference.batches import token_batches
from seq2seq.inference.search.columns import Columns
from seq2seq.inference.search.scorers import combine
from seq2seq.model import Model
from seq2seq.modeldir.shortlist import Shortlist


@torch.no_grad()
def pair_log_probabilities(
    models: Sequence[Model],
    sources: list[list[int]],
    targets: list[list[int]],
    *,
    weights: Sequence[float] = (1.0,),
    max_batch_tokens: int,
    shortlist: Shortlist | None = None,
) -> list[Tensor]:
    """log p(y_i | y_<i, x) of every target token and of the eos after them, under one model
    or an ensemble (its members' log-probabilities combined as in search:
    ``seq2seq.inference.search.scorers.ensemble``).

    Args:
        models: one model, or an ensemble's members (sharing the target vocabulary).
        sources: token ids without eos.
        targets: token ids without bos and eos.
        weights: the members' weights, summing to 1.
        max_batch_tokens: source and target tokens per forward pass, padding included.
        shortlist: the probabilities are normalized over the target ids that it keeps for a
            batch's sources and targets (``Shortlist.kept``), as a search with it scores them.

    Returns:
        Per pair, (len(target) + 1,) float, eos last.
    """
    device = next(models[0].parameters()).device
    sizes = [
        max(pair_tokens(model.pair_layout, len(s), len(t)) for model in models)
        for s, t in zip(sources, targets, strict=True)
    ]
    order = sorted(range(len(sizes)), key=lambda i: -sizes[i])
    results: list[Tensor] = [torch.empty(0)] * len(sizes)
    for group in token_batches(order, sizes, max_batch_tokens):
        examples = [(i, np.array(sources[i]), np.array(targets[i])) for i in group]
        logits, target = [], None
        for model in models:
            batch = collate_function(model.pair_layout)(examples)
            moved = (t.to(device) for t in (batch.src, batch.prev_output, batch.target))
            batch = Batch(*moved, batch.indices)
            real = batch.target.ne(PAD_ID)
            logits.append(model.teacher_forced(batch.src, batch.prev_output, select=real).float())
            target = batch.target[real]  # the same tokens in any layout
        if shortlist is not None:
            src = torch.tensor([t for i in group for t in sources[i]], device=device)
            columns = Columns(shortlist.kept(src, also=target))
            logits = [member.index_select(1, columns.ids) for member in logits]
            target = columns.columns(target)
        # log_softmax(sum_i w_i logits_i): each member's own normalization would cancel out
        combined = combine(logits, tuple(weights), normalized=True)
        chosen = combined.gather(1, target[:, None])[:, 0].cpu()
        for index, scores in zip(group, chosen.split([len(targets[i]) + 1 for i in group]),
                                 strict=True):  # fmt: skip
            results[index] = scores
    return results
