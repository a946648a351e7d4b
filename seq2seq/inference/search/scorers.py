"""Scorers: what gives every search (greedy, beam, sampling) the next token's log-probabilities,
each from a key/value cache of its own (Marian's scorers; fairseq's ``EnsembleModel``).

A scorer starts on a batch of source sentences, one row each, and then follows the search:
``state.step(rows, tokens)`` continues row ``rows[i]`` of the last step with ``tokens[i]``
as new row i (repeats and drops allowed: beams widen, move and leave), and returns the next
log-probabilities. A translation model is a scorer; so is a fused language model, and so is
an ensemble of translation models, whose members each keep their own cache.

Scorers combine log-linearly: ``LogLinear`` adds their weighted log-probabilities (Marian
sums them the same way). Shallow fusion adds W log p_LM to the translation model's and keeps
the sum as it is, as Gulcehre et al. define it; an ensemble renormalizes its weighted sum
(weights summing to 1), so that what it gives is a distribution again: a normalized product
of experts. That choice keeps an ensemble's scores what one model's are, log-probabilities
that beam search's length penalty, forced scoring and perplexity read the same way; an
ensemble of a model with itself is that model. fairseq averages the members' probabilities
instead (a mixture); the product is sharper where members disagree, the mixture safer when
one member is badly wrong, and both need every member's full distribution at every step.

Beam search adds scores across steps and needs exact log-probabilities. Greedy search and
sampling choose one token a step from scores that may be off by a constant per row (argmax
and softmax do not see it), so they start scorers with ``exact=False``, which skips the
log-softmax; an ensemble's members never need it, since the ensemble's own renormalization
removes each member's constant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import torch
from torch import Tensor

from seq2seq.common.special import BOS_ID
from seq2seq.inference.runtime.cache import DecoderCache
from seq2seq.inference.runtime.native.normalize import native_log_softmax_
from seq2seq.inference.runtime.projection import restricted
from seq2seq.model import DecoderOnlyTransformer, Model


class ScorerState(Protocol):
    """A scorer's state during one search: its caches, row for row with the search's."""

    def step(self, rows: Tensor | None, tokens: Tensor) -> tuple[Tensor, ScorerState]:
        """Follow the search one step.

        Args:
            rows: (new_rows,) long, the row of the last step each new row continues; None
                when each row goes on as it is.
            tokens: (new_rows,) long, the token each new row appends.

        Returns:
            the next token's log-probabilities (new_rows, vocab) float, and the new state.
        """
        ...


class Scorer(Protocol):
    """Next-token log-probabilities for the target vocabulary, given a source batch."""

    def start(
        self, src_tokens: Tensor, *, reserve: int, exact: bool = True
    ) -> tuple[Tensor, ScorerState]:
        """The first target token's log-probabilities and the state after reading the sources.

        Args:
            src_tokens: (batch, src_len) long, right-padded with 0, each ending with eos.
            reserve: room for this many more self-attention entries per sentence.
            exact: log-probabilities at every step; False: up to a constant per row.

        Returns:
            (batch, vocab) float and the state, one row per sentence.
        """
        ...

    def target_limit(self, source_tokens: Tensor) -> Tensor:
        """The most target tokens (eos excluded) it scores after each source of
        ``source_tokens`` (batch,) tokens, eos included: (batch,) long."""
        ...

    def restricted(self, ids: Tensor) -> Scorer:
        """The scorer over the target ids ``ids`` alone (a shortlist's): column i of its
        scores, and token i of what its states step with, is target id ``ids[i]``; its
        log-probabilities are normalized over those ids.

        Args:
            ids: (kept,) long, sorted, beginning with the special ids (each its own column).
        """
        ...


@dataclass(frozen=True)
class CacheState:
    """A model's state: its decoder's cache (``DecoderCache``); ``ids``: the target id of each
    column the search chooses, when it scores some of the vocabulary (``Scorer.restricted``)."""

    cache: DecoderCache
    exact: bool = True
    ids: Tensor | None = None

    def step(self, rows: Tensor | None, tokens: Tensor) -> tuple[Tensor, CacheState]:
        cache = self.cache if rows is None else self.cache.reorder(rows)
        ids = tokens if self.ids is None else self.ids.index_select(0, tokens)
        logits, cache = cache.step(ids[:, None])
        return _scores(logits, exact=self.exact), replace(self, cache=cache)


def _onto(cache: DecoderCache, ids: Tensor | None) -> DecoderCache:
    """``cache``, projecting onto the target ids ``ids`` alone (None: onto all)."""
    if ids is None:
        return cache
    return replace(cache, project=restricted(cache.decoder.output_proj, ids))


def _scores(logits: Tensor, *, exact: bool) -> Tensor:
    """(rows, vocab) log-probabilities, or with ``exact`` False the logits (in fp32); the
    log-probabilities over the logits themselves where the native kernel takes them (a
    scorer's logits are its own, made for this step)."""
    scores = logits.float()
    return _log_softmax(scores) if exact else scores


def _log_softmax(scores: Tensor) -> Tensor:
    """log_softmax along the last dimension, of (rows, vocab) ``scores`` that may be
    overwritten."""
    if scores.requires_grad:
        return scores.log_softmax(-1)
    normalized = native_log_softmax_(scores)
    return scores.log_softmax(-1) if normalized is None else normalized


@dataclass(frozen=True)
class ModelScorer:
    """A translation model of either architecture, through its start of decoding
    (``start_decoding``: the encoder's output, or the source read as a prompt); ``prompt``:
    target ids the decoder reads after that before the output (a multilingual model's
    target-language tag, which it is then not asked to predict)."""

    model: Model
    ids: Tensor | None = None
    prompt: tuple[int, ...] = ()

    def start(
        self, src_tokens: Tensor, *, reserve: int, exact: bool = True
    ) -> tuple[Tensor, CacheState]:
        start = self.model.start_decoding(src_tokens)
        tokens = start.tokens
        if self.prompt:
            prompt = tokens.new_tensor(self.prompt).expand(tokens.size(0), -1)
            tokens = torch.cat([tokens, prompt], 1)
        entries = tokens.size(1) + reserve
        cache = _onto(DecoderCache.begin(self.model.decoder, start, reserve=entries), self.ids)
        logits, cache = cache.extend(tokens)
        return _scores(logits[:, -1], exact=exact), CacheState(cache, exact, self.ids)

    def target_limit(self, source_tokens: Tensor) -> Tensor:
        return self.model.target_limit(source_tokens) - len(self.prompt)

    def restricted(self, ids: Tensor) -> ModelScorer:
        return replace(self, ids=ids)


@dataclass(frozen=True)
class LanguageModelScorer:
    """A language model of the target vocabulary: it reads the target alone, bos first."""

    model: DecoderOnlyTransformer
    ids: Tensor | None = None

    def start(
        self, src_tokens: Tensor, *, reserve: int, exact: bool = True
    ) -> tuple[Tensor, CacheState]:
        rows = src_tokens.size(0)
        cache = DecoderCache.without_memory(self.model.decoder, rows=rows, reserve=1 + reserve)
        logits, cache = _onto(cache, self.ids).extend(src_tokens.new_full((rows, 1), BOS_ID))
        return _scores(logits[:, -1], exact=exact), CacheState(cache, exact, self.ids)

    def target_limit(self, source_tokens: Tensor) -> Tensor:
        return source_tokens.new_full(source_tokens.shape, self.model.cfg.max_positions - 1)

    def restricted(self, ids: Tensor) -> LanguageModelScorer:
        return replace(self, ids=ids)


@dataclass(frozen=True)
class LogLinearState:
    """The members' states of a ``LogLinear`` scorer; ``renormalize``: whether its sum is
    log-softmaxed."""

    states: tuple[ScorerState, ...]
    weights: tuple[float, ...]
    renormalize: bool

    def step(self, rows: Tensor | None, tokens: Tensor) -> tuple[Tensor, LogLinearState]:
        stepped = [state.step(rows, tokens) for state in self.states]
        return LogLinearState.of(stepped, self.weights, renormalize=self.renormalize)

    @classmethod
    def of(
        cls,
        members: list[tuple[Tensor, ScorerState]],
        weights: tuple[float, ...],
        *,
        renormalize: bool,
    ) -> tuple[Tensor, LogLinearState]:
        """The combined scores of the members' (scores, state) and the state of them all."""
        combined = combine([scores for scores, _ in members], weights, normalized=renormalize)
        return combined, cls(tuple(state for _, state in members), weights, renormalize)


@dataclass(frozen=True)
class LogLinear:
    """Scorers combined: sum_i w_i log p_i, renormalized over the vocabulary when
    ``normalized`` (an ensemble), as it is otherwise (shallow fusion)."""

    scorers: tuple[Scorer, ...]
    weights: tuple[float, ...]
    normalized: bool

    def start(
        self, src_tokens: Tensor, *, reserve: int, exact: bool = True
    ) -> tuple[Tensor, LogLinearState]:
        members_exact = exact and not self.normalized  # renormalizing removes their constants
        started = [
            scorer.start(src_tokens, reserve=reserve, exact=members_exact)
            for scorer in self.scorers
        ]
        renormalize = exact and self.normalized
        return LogLinearState.of(started, self.weights, renormalize=renormalize)

    def target_limit(self, source_tokens: Tensor) -> Tensor:
        limits = [scorer.target_limit(source_tokens) for scorer in self.scorers]
        least = limits[0]
        for limit in limits[1:]:
            least = least.minimum(limit)
        return least

    def restricted(self, ids: Tensor) -> LogLinear:
        return replace(self, scorers=tuple(scorer.restricted(ids) for scorer in self.scorers))


def combine(log_probs: list[Tensor], weights: tuple[float, ...], *, normalized: bool) -> Tensor:
    """sum_i w_i log_probs[i], each (rows, vocab); renormalized (log-softmax) if asked."""
    total = log_probs[0] * weights[0]
    for member, weight in zip(log_probs[1:], weights[1:], strict=True):
        total = total.add_(member, alpha=weight)
    return _log_softmax(total) if normalized else total


def ensemble(members: Sequence[Scorer], weights: Sequence[float]) -> Scorer:
    """Translation models decoding as one: a normalized product of experts (see the module's
    docstring) with ``weights`` (``ensemble_weights``). One member is itself."""
    if len(members) == 1:
        return members[0]
    return LogLinear(tuple(members), tuple(weights), normalized=True)


def ensemble_weights(members: int, weights: Sequence[float] | None) -> list[float]:
    """``weights`` scaled to sum to 1 (None: equal ones).

    Raises:
        ValueError: weights of another count than the members, or not positive.
    """
    weights = [1.0] * members if weights is None else list(weights)
    if len(weights) != members or min(weights) <= 0:
        raise ValueError(f"{members} models need {members} positive weights, got {weights}")
    return [weight / sum(weights) for weight in weights]


def fused(translation: Scorer, language_model: Scorer, *, weight: float) -> Scorer:
    """Shallow fusion (Gulcehre et al. 2015): log p_TM + weight * log p_LM at every step."""
    return LogLinear((translation, language_model), (1.0, weight), normalized=False)
