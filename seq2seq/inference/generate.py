"""Text from a decoder-only model (a language model): continuations of a prompt on the
key/value cache, and the log-probability of given sequences."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from seq2seq.common.special import BOS_ID, EOS_ID, PAD_ID
from seq2seq.inference.batches import token_batches
from seq2seq.inference.runtime.cache import DecoderCache
from seq2seq.inference.search.rules import MinLength, never_pad_or_bos
from seq2seq.inference.search.scorers import CacheState
from seq2seq.inference.search.state import SearchState
from seq2seq.inference.search.stepwise import continue_rows
from seq2seq.model import DecoderOnlyTransformer


@torch.no_grad()
def continue_prompt(
    model: DecoderOnlyTransformer,
    prompt: list[int],
    *,
    count: int,
    max_tokens: int,
    choose: Callable[[Tensor], Tensor],
    min_len: int = 0,
) -> list[list[int]]:
    """``count`` continuations of ``prompt``, each until eos or ``max_tokens`` new tokens.

    The prompt (bos first) goes through the model in one pass per row, then every row steps
    on its own cache entries.

    Args:
        prompt: token ids without bos (empty: text from scratch).
        choose: (rows, vocab) logits -> (rows,) tokens: ``search.most_probable`` or
            ``search.drawing(sampling, generator=...)``.
        min_len: eos is not allowed before this many new tokens.

    Returns:
        Per row, the new ids without eos.

    Raises:
        ValueError: the prompt leaves no room under the model's ``max_positions``.
    """
    device = model.decoder.embed.tokens.weight.device
    tokens = torch.tensor([[BOS_ID, *prompt]], device=device).expand(count, -1)
    budget = min(max_tokens, model.cfg.max_positions - tokens.size(1))
    if budget < 1:
        raise ValueError(
            f"a prompt of {len(prompt)} tokens leaves no room for more under the model's "
            f"limit of {model.cfg.max_positions} positions"
        )
    cache = DecoderCache.without_memory(model.decoder, rows=count, reserve=tokens.size(1) + budget)
    logits, cache = cache.extend(tokens)
    rows = torch.arange(count, device=device)
    scores = CacheState(cache, exact=False)  # choose sees logits, as in greedy search
    state = SearchState(tokens[:, :1], torch.zeros(count, device=device), rows, scores)
    return continue_rows(
        logits[:, -1].float(), state, choose=choose, rules=[never_pad_or_bos, MinLength(min_len)],
        limits=torch.full((count,), budget, device=device),
    )  # fmt: skip


@torch.no_grad()
def token_log_probabilities(
    model: DecoderOnlyTransformer, sequences: list[list[int]], *, max_batch_tokens: int = 8192
) -> list[Tensor]:
    """The log-probability of every token of each sequence and of the eos after it, each
    given the ones before it (bos first).

    Args:
        sequences: token ids without bos and eos.
        max_batch_tokens: tokens per forward pass, padding included.

    Returns:
        Per sequence, (len + 1,) float: log p(token_i | bos, token_<i), eos last.
    """
    device = model.decoder.embed.tokens.weight.device
    order = sorted(range(len(sequences)), key=lambda i: -len(sequences[i]))
    results: list[Tensor] = [torch.empty(0)] * len(sequences)
    for batch in token_batches(order, [len(ids) + 1 for ids in sequences], max_batch_tokens):
        scores = _batch_scores(model, [sequences[i] for i in batch], device)
        for index, row in zip(batch, scores, strict=True):
            results[index] = row
    return results


def _batch_scores(
    model: DecoderOnlyTransformer, sequences: list[list[int]], device: torch.device
) -> list[Tensor]:
    """``token_log_probabilities`` of one padded batch."""
    width = max(map(len, sequences)) + 1
    inputs = torch.full((len(sequences), width), PAD_ID, device=device)
    targets = torch.full_like(inputs, PAD_ID)
    for row, ids in enumerate(sequences):
        inputs[row, : len(ids) + 1] = torch.tensor([BOS_ID, *ids])
        targets[row, : len(ids) + 1] = torch.tensor([*ids, EOS_ID])
    log_probs = model(inputs).float().log_softmax(-1)
    chosen = log_probs.gather(2, targets[:, :, None]).squeeze(2).cpu()
    return [chosen[row, : len(ids) + 1] for row, ids in enumerate(sequences)]
