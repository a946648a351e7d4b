"""Greedy search and sampling: one token per row and step, over the same scorers and rules as
beam search, until eos or the length limit."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from seq2seq.common.special import EOS_ID, PAD_ID
from seq2seq.inference.options import DecodingOptions, Sampling
from seq2seq.inference.search.rules import LengthLimit, MinLength, Rule, apply, never_pad_or_bos
from seq2seq.inference.search.scorers import Scorer
from seq2seq.inference.search.state import SearchState

GREEDY = DecodingOptions(beam_size=1)


def max_lengths(
    src_tokens: Tensor,
    options: DecodingOptions,
    *,
    scorer: Scorer,
    at_least: Tensor | None = None,
) -> Tensor:
    """Per-sentence output budget max_len_a * src_len + max_len_b, at least ``at_least``
    (a forced prefix's tokens), within what the scorer's positions hold: (batch,) long."""
    src_lengths = src_tokens.ne(PAD_ID).sum(1)
    budgets = (src_lengths * options.max_len_a + options.max_len_b).long()
    if at_least is not None:
        budgets = budgets.maximum(at_least)
    return budgets.minimum(scorer.target_limit(src_lengths)).clamp(min=1)


@torch.inference_mode()
def greedy_search(
    scorer: Scorer,
    src_tokens: Tensor,
    *,
    options: DecodingOptions = GREEDY,
    rules: Sequence[Rule] = (),
    limits: Tensor | None = None,
) -> list[list[int]]:
    """The most probable next token at every step, until eos or the length limit.

    Args:
        src_tokens: (batch, src_len) long, padded with 0, each ending with eos.
        options: its length limits (``max_len_a``, ``max_len_b``, ``min_len``).
        rules: edit the scores after the minimum length and the length limit.
        limits: (batch,) long, each output's most tokens; None: ``max_lengths``.

    Returns:
        For each sentence, its output ids without bos and eos.
    """
    return one_token_a_step(
        scorer, src_tokens, choose=most_probable, options=options, rules=rules, limits=limits
    )


@torch.inference_mode()
def sample(
    scorer: Scorer,
    src_tokens: Tensor,
    *,
    options: DecodingOptions,
    generator: torch.Generator | None = None,
    rules: Sequence[Rule] = (),
    limits: Tensor | None = None,
) -> list[list[int]]:
    """Draw each next token from softmax(scores / temperature), filtered by top-k and top-p
    (``options.sampling``), within ``options``' length limits; otherwise as
    ``greedy_search``. Pass a seeded ``generator`` for reproducible samples."""
    if options.sampling is None:
        raise ValueError("sample needs options.sampling")
    choose = drawing(options.sampling, generator=generator)
    return one_token_a_step(
        scorer, src_tokens, choose=choose, options=options, rules=rules, limits=limits
    )


def filter_logits(logits: Tensor, *, top_k: int = 0, top_p: float = 1.0) -> Tensor:
    """Keep the ``top_k`` most probable tokens and the smallest set whose probability reaches
    ``top_p`` (nucleus sampling, Holtzman et al. 2020); the rest get -inf.

    Args:
        logits: (batch, vocab).
        top_k: 0 keeps all.
        top_p: 1.0 keeps all.
    """
    if top_k > 0:
        kth = logits.topk(min(top_k, logits.size(-1)), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        ordered, order = logits.sort(dim=-1, descending=True)
        probs = ordered.softmax(-1)
        drop = probs.cumsum(-1) - probs >= top_p  # the mass before this token is already enough
        logits = logits.masked_fill(drop.scatter(1, order, drop), float("-inf"))
    return logits


def drawing(
    sampling: Sampling, *, generator: torch.Generator | None = None
) -> Callable[[Tensor], Tensor]:
    """The choice of sampling: (rows, vocab) scores -> (rows,) tokens drawn from
    softmax(scores / temperature), filtered by top-k and top-p."""

    def choose(logits: Tensor) -> Tensor:
        scaled = logits.float() / sampling.temperature
        filtered = filter_logits(scaled, top_k=sampling.top_k, top_p=sampling.top_p)
        return torch.multinomial(filtered.softmax(-1), 1, generator=generator).squeeze(1)

    return choose


def most_probable(logits: Tensor) -> Tensor:
    """The choice of greedy search: (rows, vocab) scores -> (rows,) tokens (``max``'s
    indices: on a CPU ``argmax`` takes about three times as long)."""
    return logits.max(-1).indices


def one_token_a_step(
    scorer: Scorer,
    src_tokens: Tensor,
    *,
    choose: Callable[[Tensor], Tensor],
    options: DecodingOptions,
    rules: Sequence[Rule],
    limits: Tensor | None,
) -> list[list[int]]:
    """One token per sentence and step, chosen by ``choose`` from the scores after the rules,
    until eos or the sentence's limit. ``choose`` sees the scores up to a constant per row
    (``Scorer.start``'s ``exact=False``), which neither argmax nor softmax sees."""
    limits = max_lengths(src_tokens, options, scorer=scorer) if limits is None else limits
    reserve = int(limits.max())
    log_probs, state = SearchState.start(scorer, src_tokens, reserve=reserve, exact=False)
    rules = [never_pad_or_bos, MinLength(options.min_len), LengthLimit(limits), *rules]
    return continue_rows(log_probs, state, choose=choose, rules=rules, limits=limits)


def continue_rows(
    log_probs: Tensor,
    state: SearchState,
    *,
    choose: Callable[[Tensor], Tensor],
    rules: Sequence[Rule],
    limits: Tensor,
) -> list[list[int]]:
    """Decode every row of ``state`` on, one token per step, until eos or its sentence's
    limit. Finished rows leave the batch, so late steps cost only what is still decoded.

    Args:
        log_probs: (rows, vocab), the next token's.
        choose: (rows, vocab) scores -> (rows,) tokens.
        limits: (sentences,) long, the most new tokens of each (eos excluded).

    Returns:
        For each sentence, its new ids without eos.
    """
    outputs: list[list[int]] = [[] for _ in range(len(limits))]
    while True:
        tokens = choose(apply(rules, log_probs, state))
        for sentence, token in zip(state.sentences.tolist(), tokens.tolist(), strict=True):
            if token != EOS_ID:
                outputs[sentence].append(token)
        alive = tokens.ne(EOS_ID) & (limits.index_select(0, state.sentences) > state.step + 1)
        if not bool(alive.any()):
            return outputs
        rows = None if bool(alive.all()) else alive.nonzero().squeeze(1)
        if rows is not None:
            tokens = tokens.index_select(0, rows)
        log_probs, state = state.advance(rows, tokens, state.scores.new_zeros(len(tokens)))
