"""Generation loops over ``first_step`` and ``DecoderCache.step``: greedy search and sampling,
one token per row and step, for either architecture."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from seq2seq.common.special import EOS_ID, PAD_ID
from seq2seq.inference.cache import DecoderCache
from seq2seq.inference.options import DecodingOptions, Sampling
from seq2seq.inference.prefix import Prefixes
from seq2seq.inference.prompt import first_step, target_limit
from seq2seq.model import Model

GREEDY = DecodingOptions(beam_size=1)


def max_lengths(
    src_tokens: Tensor, options: DecodingOptions, *, model: Model, prefixes: Prefixes | None = None
) -> Tensor:
    """Per-sentence output budget max_len_a * src_len + max_len_b, at least the sentence's
    forced prefix, within the model's positions (``target_limit``): (batch,) long."""
    src_lengths = src_tokens.ne(PAD_ID).sum(1)
    budgets = (src_lengths * options.max_len_a + options.max_len_b).long()
    if prefixes is not None:
        budgets = budgets.maximum(prefixes.lengths)
    return budgets.minimum(torch.as_tensor(target_limit(model.cfg, src_lengths))).clamp(min=1)


@torch.no_grad()
def greedy_search(
    model: Model,
    src_tokens: Tensor,
    *,
    options: DecodingOptions = GREEDY,
    prefixes: Prefixes | None = None,
) -> list[list[int]]:
    """The most probable next token at every step, until eos or the length limit.

    Args:
        src_tokens: (batch, src_len) long, padded with 0, each ending with eos.
        options: its length limits (``max_len_a``, ``max_len_b``, ``min_len``).
        prefixes: the tokens each output begins with (forced), or None.

    Returns:
        For each sentence, its output ids without bos and eos (the prefix included).
    """
    return _decode(model, src_tokens, most_probable, options, prefixes)


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


@torch.no_grad()
def sample(
    model: Model,
    src_tokens: Tensor,
    *,
    options: DecodingOptions,
    generator: torch.Generator | None = None,
    prefixes: Prefixes | None = None,
) -> list[list[int]]:
    """Draw each next token from softmax(logits / temperature), filtered by top-k and top-p
    (``options.sampling``), within ``options``' length limits, after any forced ``prefixes``.

    Pass a seeded ``generator`` for reproducible samples.
    """
    if options.sampling is None:
        raise ValueError("sample needs options.sampling")
    choose = drawing(options.sampling, generator=generator)
    return _decode(model, src_tokens, choose, options, prefixes)


def drawing(
    sampling: Sampling, *, generator: torch.Generator | None = None
) -> Callable[[Tensor], Tensor]:
    """The choice of sampling: (rows, vocab) logits -> (rows,) tokens drawn from
    softmax(logits / temperature), filtered by top-k and top-p."""

    def choose(logits: Tensor) -> Tensor:
        scaled = logits.float() / sampling.temperature
        filtered = filter_logits(scaled, top_k=sampling.top_k, top_p=sampling.top_p)
        return torch.multinomial(filtered.softmax(-1), 1, generator=generator).squeeze(1)

    return choose


def most_probable(logits: Tensor) -> Tensor:
    """The choice of greedy search: (rows, vocab) logits -> (rows,) tokens."""
    return logits.argmax(-1)


def _decode(
    model: Model,
    src_tokens: Tensor,
    choose: Callable[[Tensor], Tensor],
    options: DecodingOptions,
    prefixes: Prefixes | None,
) -> list[list[int]]:
    """One token per step chosen by ``choose`` (batch, vocab) -> (batch,), until eos or the
    length budget. The encoder (or a decoder-only model's prompt) runs once."""
    budgets = max_lengths(src_tokens, options, model=model, prefixes=prefixes)
    logits, cache = first_step(model, src_tokens, reserve=int(budgets.max()))
    return continue_rows(
        cache, logits, choose=choose, budgets=budgets, min_len=options.min_len, prefixes=prefixes
    )


def continue_rows(
    cache: DecoderCache,
    logits: Tensor,
    *,
    choose: Callable[[Tensor], Tensor],
    budgets: Tensor,
    min_len: int,
    prefixes: Prefixes | None = None,
) -> list[list[int]]:
    """Decode every row of ``cache`` on, one token per step, until eos or its budget.

    Finished rows leave the batch (their rows are dropped from the cache), so late steps cost
    only what is still being decoded.

    Args:
        cache: one row per output, each of its own group (greedy search, sampling).
        logits: (rows, vocab), the first new token's.
        choose: (rows, vocab) logits -> (rows,) tokens.
        budgets: (rows,) long, the most new tokens of each row (eos excluded).
        min_len: eos is not allowed before this many tokens.
        prefixes: the tokens each row's output begins with (forced), or None.

    Returns:
        For each row, its new ids without eos.
    """
    outputs: list[list[int]] = [[] for _ in range(logits.size(0))]
    rows = torch.arange(logits.size(0))  # which output each live row decodes
    for step in range(int(budgets.max())):
        if step < min_len:
            logits[:, EOS_ID] = float("-inf")
        if prefixes is not None:
            logits = prefixes.force(logits, step=step, sentences=rows.to(logits.device))
        tokens = choose(logits)
        for row, token in zip(rows.tolist(), tokens.tolist(), strict=True):
            if token != EOS_ID:
                outputs[row].append(token)
        alive = tokens.ne(EOS_ID) & (budgets[rows] > step + 1)
        if not bool(alive.any()):
            break
        if not bool(alive.all()):
            keep = alive.nonzero().squeeze(1)
            cache, rows, tokens = cache.reorder(keep), rows[keep.cpu()], tokens[keep]
        logits, cache = cache.step(tokens[:, None])
    return outputs
