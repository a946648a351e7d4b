"""Batches of sequences by their padded size, for inference."""

from __future__ import annotations


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
