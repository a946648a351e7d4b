"""Candidates of a whole text from the candidates of its sentences."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import accumulate, pairwise
from typing import TypeVar

from seq2seq.inference.translator import Candidate

T = TypeVar("T")


def regroup(flat: Sequence[T], sizes: list[int]) -> list[Sequence[T]]:
    """``flat`` cut back into consecutive groups of ``sizes`` (what was flattened for one call)."""
    bounds = [0, *accumulate(sizes)]
    return [flat[start:end] for start, end in pairwise(bounds)]


def whole_text_candidates(
    per_sentence: list[list[Candidate]], render: Callable[[list[str]], str], *, nbest: int
) -> list[Candidate]:
    """Up to ``nbest`` candidates of a text whose sentences got ``per_sentence``, best first.

    Candidate r renders the r-th candidate of each sentence (the last one of a sentence that
    has fewer) with ``render``; its score is the mean of theirs, None if any is None or the
    text has no sentence.
    """
    ranks = min(nbest, max((len(c) for c in per_sentence), default=1))
    candidates = []
    for rank in range(ranks):
        chosen = [c[min(rank, len(c) - 1)] for c in per_sentence]
        scores = [c.score for c in chosen]
        score = None if None in scores or not scores else sum(scores) / len(scores)
        candidates.append(Candidate(render([c.text for c in chosen]), score))
    return candidates
