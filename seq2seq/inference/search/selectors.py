"""Choosing beam search's candidates each step: the 2k best (``TopCandidates``), or dynamic
beam allocation when outputs must contain given phrases (``Constrained``).

A selector sees every live sentence's scores, (groups, width, vocab): each row's score so
far plus each next token's (rules applied), and says which candidates end (eos) and which k
go on. It may keep a state per row (constraint progress), which follows the rows as the
search's scorers do (``SearchState.advance``); it also ranks a sentence's finished
hypotheses at the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from seq2seq.common.special import EOS_ID
from seq2seq.inference.runtime.native.selection import native_select_top
from seq2seq.inference.search.constraints import (
    Candidate,
    Progress,
    SentenceConstraints,
    allocate,
    constrained_candidates,
)
from seq2seq.inference.search.hypothesis import Hypothesis
from seq2seq.inference.search.state import SearchState
from seq2seq.inference.search.topk import top_k


@dataclass(frozen=True)
class Selection:
    """One step's choices, per live sentence (a group of rows).

    Attributes:
        scores, rows, tokens: (groups, k): the k candidates that go on, best first, each
            the row it continues and its token; -inf scores (and the group's best row) pad
            a group with fewer.
        ended_rows, ended_scores: (n,): the candidates that end (eos) among each group's k
            best, each the row it ends and its score.
    """

    scores: Tensor
    rows: Tensor
    tokens: Tensor
    ended_rows: Tensor
    ended_scores: Tensor

    @classmethod
    def of(cls, scores: Tensor, rows: Tensor, tokens: Tensor, *, k: int) -> Selection:
        """From candidates (groups, c), best first: those of the first k that end, and the
        first k of the others."""
        if scores.size(1) < k:
            pad = k - scores.size(1)
            scores = torch.nn.functional.pad(scores, (0, pad), value=-math.inf)
            rows = torch.cat([rows, rows[:, :1].expand(-1, pad)], 1)
            tokens = torch.nn.functional.pad(tokens, (0, pad), value=EOS_ID)
        ending = tokens.eq(EOS_ID)
        going, columns = scores.masked_fill(ending, -math.inf).topk(k, dim=1)
        # a candidate ends only among the k best, as in fairseq and transformers: the 2k
        # are there so that k go on, not to end more
        best_rows, best_scores = rows[:, :k], scores[:, :k]
        ends = ending[:, :k] & (best_scores > -math.inf)
        ended = (
            (best_rows[ends], best_scores[ends])
            if bool(ends.any())
            else (rows[:0, 0], scores[:0, 0])
        )
        # -inf pads a sentence with fewer than k: rows of its own, which never win again
        return cls(going, rows.gather(1, columns), tokens.gather(1, columns), *ended)

    def of_sentences(self, going: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The rows, tokens and scores (each (rows,)) of the sentences that go on, ``going``
        (groups,) bool, in ``SearchState.advance``'s order."""
        if bool(going.all()):
            return self.rows.view(-1), self.tokens.view(-1), self.scores.view(-1)
        return self.rows[going].view(-1), self.tokens[going].view(-1), self.scores[going].view(-1)


class Selector(Protocol):
    """Beam search's choice of candidates; also a stateful part of the search."""

    def select(self, scores: Tensor, state: SearchState, *, k: int, at_limit: Tensor) -> Selection:
        """Args:
        scores: (groups, width, vocab) float, the candidates' scores.
        state: the search's state (its rows are the groups' rows, in order).
        at_limit: (groups,) bool, the sentences at their length limit.
        """
        ...

    def advance(self, rows: Tensor | None, tokens: Tensor) -> Selector: ...

    def ranked(self, sentence: int, finished: list[Hypothesis]) -> list[Hypothesis]:
        """A sentence's finished hypotheses, best first."""
        ...


@dataclass(frozen=True)
class TopCandidates:
    """The 2k best candidates of each sentence: those that end are filed, the best k of the
    rest go on (fairseq's ``BeamSearch.step``)."""

    def select(self, scores: Tensor, state: SearchState, *, k: int, at_limit: Tensor) -> Selection:
        return _top(scores, k=k)

    def advance(self, rows: Tensor | None, tokens: Tensor) -> TopCandidates:
        return self

    def ranked(self, sentence: int, finished: list[Hypothesis]) -> list[Hypothesis]:
        return sorted(finished, key=lambda h: -h.score)


TOP = TopCandidates()


def _top(scores: Tensor, *, k: int) -> Selection:
    """``TopCandidates``' selection of (groups, width, vocab) scores: in one native call
    where the kernel applies."""
    chosen = native_select_top(scores, k=k, eos=EOS_ID)
    if chosen is not None:
        return Selection(*chosen)
    groups, width, vocab = scores.shape
    flat = scores.view(groups, -1)
    top, ids = top_k(flat, min(2 * k, flat.size(1)))
    first_row = torch.arange(groups, device=scores.device)[:, None] * width
    return Selection.of(top, first_row + ids // vocab, ids % vocab, k=k)


@dataclass(frozen=True)
class Constrained:
    """Dynamic beam allocation (``seq2seq.inference.search.constraints``) for the sentences that
    have phrases; the 2k best for the others.

    Attributes:
        constraints: per source sentence, its phrases (None: none).
        progress: per row, its progress through its sentence's phrases.
        sentences: per row, its source sentence.
    """

    constraints: tuple[SentenceConstraints | None, ...]
    progress: tuple[Progress, ...]
    sentences: tuple[int, ...]

    @classmethod
    def start(cls, constraints: list[SentenceConstraints | None]) -> Constrained:
        """Before the first step: one row per sentence, nothing met."""
        batch = len(constraints)
        return cls(tuple(constraints), (Progress(),) * batch, tuple(range(batch)))

    def select(self, scores: Tensor, state: SearchState, *, k: int, at_limit: Tensor) -> Selection:
        width = scores.size(1)
        going: list[list[Candidate]] = []
        ended: list[tuple[int, float]] = []  # (row, score)
        for group, limited in enumerate(at_limit.tolist()):
            first = group * width
            wanted = self.constraints[self.sentences[first]]
            mine = list(self.progress[first : first + width])
            candidates = _candidates(scores[group], mine, wanted, k=k, at_limit=limited)
            ending = candidates if wanted is not None else candidates[:k]  # as ``TOP``
            ended += [(first + beam, score) for score, beam, token in ending if token == EOS_ID]
            goes = [c for c in candidates if c[2] != EOS_ID]
            going.append(goes[:k] if wanted is None else allocate(goes, mine, wanted, k=k))
        return _selection(going, ended, width=width, k=k, device=scores.device)

    def advance(self, rows: Tensor | None, tokens: Tensor) -> Constrained:
        kept = range(len(self.sentences)) if rows is None else rows.tolist()
        sentences = tuple(self.sentences[row] for row in kept)
        progress = tuple(
            self._advanced(self.progress[row], sentence, token)
            for row, sentence, token in zip(kept, sentences, tokens.tolist(), strict=True)
        )
        return Constrained(self.constraints, progress, sentences)

    def _advanced(self, progress: Progress, sentence: int, token: int) -> Progress:
        wanted = self.constraints[sentence]
        return progress if wanted is None else wanted.advance(progress, token)

    def ranked(self, sentence: int, finished: list[Hypothesis]) -> list[Hypothesis]:
        """Those that meet every phrase first (the others could only end at the length
        limit)."""
        wanted = self.constraints[sentence]
        if wanted is None:
            return sorted(finished, key=lambda h: -h.score)
        return sorted(finished, key=lambda h: (not wanted.met_by(h.tokens), -h.score))


def _candidates(
    scores: Tensor,
    progress: list[Progress],
    wanted: SentenceConstraints | None,
    *,
    k: int,
    at_limit: bool,
) -> list[Candidate]:
    """One sentence's candidates, best first, from its rows' (width, vocab) scores: as
    ``constrained_candidates`` with phrases, the 2k best without."""
    if wanted is not None:
        return constrained_candidates(scores, progress, wanted, k=k, at_limit=at_limit)
    values, ids = top_k(scores.view(1, -1), min(2 * k, scores.numel()))
    vocab = scores.size(1)
    return [
        (score, *divmod(flat, vocab))
        for score, flat in zip(values[0].tolist(), ids[0].tolist(), strict=True)
        if score > -math.inf
    ]


def _selection(
    going: list[list[Candidate]],
    ended: list[tuple[int, float]],
    *,
    width: int,
    k: int,
    device: torch.device,
) -> Selection:
    """A ``Selection`` of each group's chosen (score, beam, token), padded to k."""
    scores = torch.full((len(going), k), -math.inf)
    rows = torch.zeros(len(going), k, dtype=torch.long)
    tokens = torch.full((len(going), k), EOS_ID, dtype=torch.long)
    for group, chosen in enumerate(going):
        rows[group] = group * width + (chosen[0][1] if chosen else 0)
        for column, (score, beam, token) in enumerate(chosen):
            scores[group, column] = score
            rows[group, column] = group * width + beam
            tokens[group, column] = token
    ended_rows = torch.tensor([row for row, _ in ended], dtype=torch.long)
    ended_scores = torch.tensor([score for _, score in ended], dtype=torch.float)
    return Selection(*(t.to(device) for t in (scores, rows, tokens, ended_rows, ended_scores)))
