"""What a search returns: hypotheses and the length penalty that ranks them."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


def length_penalty(length: int | Tensor, alpha: float) -> float | Tensor:
    """GNMT's lp(Y) = ((5 + |Y|) / 6) ^ alpha (Wu et al. 2016); 1 when alpha is 0."""
    return ((5 + length) / 6) ** alpha


@dataclass
class Hypothesis:
    tokens: list[int]
    # log-probability / length_penalty(len(tokens) + 1, alpha); None from greedy or sampling
    score: float | None
