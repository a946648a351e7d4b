"""A search over some of the target vocabulary (a shortlist's ids): its scores have one column
per kept id, and what refers to target ids (a prefix, constraints, the output) is read in
columns for the search and back in ids after it (Marian's shortlist, CTranslate2's
vocabulary map)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from seq2seq.common.special import SPECIAL_IDS
from seq2seq.inference.search.constraints import SentenceConstraints


@dataclass(frozen=True)
class Columns:
    """Column i of the search's scores is target id ``ids[i]``.

    Attributes:
        ids: (kept,) long, sorted, beginning with the special ids, so that each of them
            (eos above all, which the search's rules and selectors name) is its own column.
    """

    ids: Tensor

    def __post_init__(self) -> None:
        specials = torch.arange(SPECIAL_IDS, device=self.ids.device)
        if not torch.equal(self.ids[:SPECIAL_IDS], specials):
            raise ValueError("the kept ids must begin with the special ids")

    def of(self, tokens: list[int]) -> list[int]:
        """The columns of target ids ``tokens``, each one of the kept ids."""
        if not tokens:
            return []
        return self.columns(torch.tensor(tokens, dtype=torch.long)).tolist()

    def columns(self, tokens: Tensor) -> Tensor:
        """The columns of target ids ``tokens`` (any shape, long), each one of the kept ids:
        of their shape, on the kept ids' device."""
        wanted = tokens.to(self.ids.device)
        columns = torch.searchsorted(self.ids, wanted)
        if not torch.equal(self.ids[columns.clamp(max=len(self.ids) - 1)], wanted):
            raise ValueError(f"target ids {wanted.tolist()} are not all kept")
        return columns

    def phrases(self, wanted: SentenceConstraints | None) -> SentenceConstraints | None:
        """A sentence's constraints in columns."""
        if wanted is None:
            return None
        return SentenceConstraints(tuple(tuple(self.of(list(p))) for p in wanted.phrases))

    def tokens(self, columns: list[int]) -> list[int]:
        """The target ids of ``columns``."""
        return self.ids[columns].tolist() if columns else []
