"""Generation loops over ``Transformer.encode`` / ``Transformer.decode_step``."""

from __future__ import annotations

import torch
from torch import Tensor

from seq2seq.model import Transformer

BOS_ID, EOS_ID, PAD_ID = 2, 3, 0


def max_lengths(src_tokens: Tensor, *, a: float, b: int, limit: int) -> Tensor:
    """Per-sentence output budget a * src_len + b, capped at ``limit``: (batch,) long."""
    src_lengths = src_tokens.ne(PAD_ID).sum(1)
    return (src_lengths * a + b).long().clamp(1, limit)


@torch.no_grad()
def greedy_search(
    model: Transformer, src_tokens: Tensor, *, max_len_a: float = 1.5, max_len_b: int = 10
) -> list[list[int]]:
    """The most probable next token at every step, until eos or the length budget.

    The encoder runs once; finished sentences leave the batch (their rows are dropped from
    the cache), so late steps cost only what is still being decoded.

    Args:
        src_tokens: (batch, src_len) long, padded with 0, each ending with eos.

    Returns:
        For each sentence, its output ids without bos and eos.
    """
    batch = src_tokens.size(0)
    limit = model.cfg.max_positions - 1
    budgets = max_lengths(src_tokens, a=max_len_a, b=max_len_b, limit=limit)
    memory = model.encode(src_tokens)
    outputs: list[list[int]] = [[] for _ in range(batch)]
    rows = torch.arange(batch)  # which sentence each live row decodes
    last = torch.full((batch, 1), BOS_ID, dtype=torch.long, device=src_tokens.device)
    cache = None
    for step in range(int(budgets.max())):
        logits, cache = model.decode_step(last, memory, cache)
        tokens = logits.argmax(-1)
        for row, token in zip(rows.tolist(), tokens.tolist(), strict=True):
            if token != EOS_ID:
                outputs[row].append(token)
        alive = tokens.ne(EOS_ID) & (budgets[rows] > step + 1)
        if not bool(alive.any()):
            break
        if not bool(alive.all()):
            keep = alive.nonzero().squeeze(1)
            cache, rows, tokens = cache.reorder(keep), rows[keep.cpu()], tokens[keep]
        last = tokens[:, None]
    return outputs
