"""The k largest scores of each row, found through the maxima of blocks of scores.

Beam search takes each step the 2k best of a sentence's beam_size x vocab candidates (32,000
scores at beam 4 over 8,000 pieces). ``torch.topk`` on a CPU pays about 40 us per row of that
size; the maxima of blocks of 128 scores narrow the search to k blocks first: 1.6x faster for
one row, 3.5-7x for 100 or 32 rows of 32,000 or 160,000 (docs/benchmarks.md, "Top-k through
block maxima").
"""

from __future__ import annotations

import torch
from torch import Tensor

from seq2seq.inference.runtime.native.selection import native_top_k

BLOCK = 128  # scores per block: 64 to 256 measured alike
MIN_BLOCKS_PER_K = 8  # fewer whole blocks than this many per k: plain topk is as fast


def top_k(scores: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """``scores.topk(k, dim=1)``: the values and columns of each row's k largest, largest first.

    On a CPU, in one native call where the kernel was built (``native_top_k``); else through
    block maxima: each of a row's k largest lies in a block whose maximum
    is at least its value, and at most k - 1 blocks have a larger maximum: the k blocks with
    the largest maxima (and the partial block at the end) hold them all. Equal values may
    come in another order than ``torch.topk``'s. Elsewhere ``torch.topk`` itself (one
    kernel on a GPU).

    Args:
        scores: (rows, n) float.

    Returns:
        values (rows, k) and their columns (rows, k) long.
    """
    found = native_top_k(scores, k)
    if found is not None:
        return found
    rows, n = scores.shape
    whole = n // BLOCK * BLOCK
    if whole < MIN_BLOCKS_PER_K * k * BLOCK or not scores.is_cpu:
        return scores.topk(k, dim=1)
    blocks = scores[:, :whole].view(rows, -1, BLOCK)
    best = blocks.amax(2).topk(k, dim=1).indices  # (rows, k)
    candidates = blocks.gather(1, best[:, :, None].expand(-1, -1, BLOCK)).view(rows, -1)
    offsets = torch.arange(BLOCK, device=scores.device)
    columns = (best[:, :, None] * BLOCK + offsets).view(rows, -1)
    if whole < n:
        candidates = torch.cat([candidates, scores[:, whole:]], 1)
        tail = torch.arange(whole, n, device=scores.device).expand(rows, -1)
        columns = torch.cat([columns, tail], 1)
    values, picked = candidates.topk(k, dim=1)
    return values, columns.gather(1, picked)
