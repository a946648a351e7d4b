"""Batched beam search (fairseq's and OpenNMT's design) over scorers, rules and a selector.

Each step the rules edit the scorers' next-token log-probabilities, the selector chooses
among every live beam's continuations, candidates that end (eos) are filed in their
sentence's list, scored with the GNMT length penalty ((5 + len) / 6) ^ alpha, and the k that
go on move the search state in one call (``SearchState.advance``). A sentence is done once no
live beam can beat its best finished one (once it has ``nbest``), or at its length limit; done
sentences leave the batch, and their rows leave every scorer's cache.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.search.hypothesis import Hypothesis, length_penalty
from seq2seq.inference.search.rules import LengthLimit, MinLength, Rule, apply, never_pad_or_bos
from seq2seq.inference.search.scorers import Scorer
from seq2seq.inference.search.selectors import TOP, Selection, Selector
from seq2seq.inference.search.state import SearchState
from seq2seq.inference.search.stepwise import max_lengths


@torch.inference_mode()
def beam_search(
    scorer: Scorer,
    src_tokens: Tensor,
    *,
    options: DecodingOptions,
    rules: Sequence[Rule] = (),
    selector: Selector = TOP,
    limits: Tensor | None = None,
) -> list[list[Hypothesis]]:
    """The ``options.nbest`` best translations of each sentence, best first.

    Args:
        src_tokens: (batch, src_len) long, padded with 0, each ending with eos.
        options: ``beam_size`` (k) hypotheses alive per sentence, ``alpha``, ``min_len``,
            the length limits and ``nbest``.
        rules: edit the scores after the minimum length and the length limit.
        limits: (batch,) long, each output's most tokens; None: ``max_lengths``.
    """
    k = options.beam_size
    limits = max_lengths(src_tokens, options, scorer=scorer) if limits is None else limits
    rules = [never_pad_or_bos, MinLength(options.min_len), LengthLimit(limits), *rules]
    finished = Finished(limits, nbest=options.nbest, alpha=options.alpha)
    reserve = k * int(limits.max())
    log_probs, state = SearchState.start(scorer, src_tokens, reserve=reserve, follower=selector)
    while True:
        scores = apply(rules, log_probs, state).add_(state.scores[:, None])
        width = 1 if state.step == 0 else k  # rows per live sentence
        groups = state.sentences[::width]
        at_limit = finished.at_limit(groups, state.step)
        chosen = state.follower.select(
            scores.view(len(groups), width, -1), state, k=k, at_limit=at_limit
        )
        finished.add(chosen, state)
        going = finished.going_on(chosen, groups, at_limit)
        if not bool(going.any()):
            return finished.best(state.follower)
        log_probs, state = state.advance(*chosen.of_sentences(going))


class Finished:
    """Each sentence's finished hypotheses, and what the test for a finished sentence reads
    of them.

    Attributes:
        hypotheses: per sentence, its finished hypotheses, length-normalized.
        best_score: (batch,) float, the best of each sentence's (-inf: none yet).
        count: (batch,) long, how many each sentence has.
    """

    def __init__(self, limits: Tensor, *, nbest: int, alpha: float) -> None:
        self.limits, self.nbest, self.alpha = limits, nbest, alpha
        self.first_limit = int(limits.min())
        self.penalty_at_limit = length_penalty(limits + 1, alpha)  # the largest of each
        self.hypotheses: list[list[Hypothesis]] = [[] for _ in range(len(limits))]
        self.best_score = torch.full((len(limits),), -math.inf, device=limits.device)
        self.count = torch.zeros_like(limits)
        self.enough = False  # whether some sentence has nbest finished hypotheses

    def at_limit(self, groups: Tensor, step: int) -> Tensor:
        """(groups,) bool: the sentences ``groups`` at their length limit at ``step``."""
        if step < self.first_limit:
            return torch.zeros(len(groups), dtype=torch.bool, device=groups.device)
        return self.limits.index_select(0, groups) <= step

    def add(self, chosen: Selection, state: SearchState) -> None:
        """File the candidates that end (their tokens so far, then eos)."""
        if chosen.ended_rows.numel() == 0:
            return
        scores = chosen.ended_scores / length_penalty(state.step + 1, self.alpha)
        sentences = state.sentences.index_select(0, chosen.ended_rows)
        tokens = state.tokens.index_select(0, chosen.ended_rows)[:, 1:]
        for sentence, ids, score in zip(
            sentences.tolist(), tokens.tolist(), scores.tolist(), strict=True
        ):
            self.hypotheses[sentence].append(Hypothesis(ids, score))
            self.enough = self.enough or len(self.hypotheses[sentence]) >= self.nbest
        self.best_score.scatter_reduce_(0, sentences, scores, reduce="amax")
        self.count.index_add_(0, sentences, torch.ones_like(sentences))

    def going_on(self, chosen: Selection, groups: Tensor, at_limit: Tensor) -> Tensor:
        """(groups,) bool: the sentences that go on. One is done at its length limit, with
        nothing left to continue, or once it has ``nbest`` finished hypotheses and the best
        can no longer be beaten: by its best live beam's score so far under the largest
        length penalty."""
        best_going = chosen.scores[:, 0]
        done = at_limit | best_going.isneginf()
        if not self.enough:
            return ~done
        bound = best_going / self.penalty_at_limit.index_select(0, groups)
        enough = self.count.index_select(0, groups) >= self.nbest
        return ~(done | (enough & (self.best_score.index_select(0, groups) >= bound)))

    def best(self, selector: Selector) -> list[list[Hypothesis]]:
        """Each sentence's ``nbest`` best hypotheses, as the selector ranks them."""
        return [
            selector.ranked(sentence, hypotheses)[: self.nbest]
            for sentence, hypotheses in enumerate(self.hypotheses)
        ]
