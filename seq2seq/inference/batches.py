"""Batches of sequences by their padded size, for inference."""

from __future__ import annotations

import torch
from torch import Tensor

from seq2seq.common.special import PAD_ID


def token_batches(order: list[int], lengths: list[int], max_tokens: int) -> list[list[int]]:
    """Consecutive runs of ``order`` (indices into ``lengths``, longest first) whose padded
    size, the first's length times their number, fits ``max_tokens``; a longer one goes
    alone."""
    batches: list[list[int]] = []
    for index in order:
        if batches and lengths[batches[-1][0]] * (len(batches[-1]) + 1) <= max_tokens:
            batches[-1].append(index)
        else:
            batches.append([index])
    return batches


def right_padded(rows: list[list[int]]) -> Tensor:
    """(len(rows), longest) long: the rows of ids, right-padded with ``PAD_ID``."""
    padded = torch.full((len(rows), max(map(len, rows))), PAD_ID, dtype=torch.long)
    for row, ids in enumerate(rows):
        padded[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    return padded
