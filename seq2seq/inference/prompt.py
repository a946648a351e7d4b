"""Where decoding starts: the encoder-decoder's first step over the encoder output, or the
source read as a prompt by a decoder-only translation model (``source_prompt``)."""

from __future__ import annotations

import torch
from torch import Tensor

from seq2seq.common.special import BOS_ID, PAD_ID, joined_side_limit, source_prompt
from seq2seq.inference.cache import DecoderCache
from seq2seq.model import DecoderOnlyTransformer, Model, TransformerConfig


def first_step(model: Model, src_tokens: Tensor, *, reserve: int) -> tuple[Tensor, DecoderCache]:
    """The logits of every sentence's first target token and the cache after them, one row
    per sentence: the encoder runs once and the decoder steps over bos; a decoder-only model
    reads each source's prompt in one pass.

    Args:
        src_tokens: (batch, src_len) long, right-padded with 0, each ending with eos.
        reserve: room for this many more self-attention entries per sentence.

    Returns:
        logits (batch, vocab) and the cache.
    """
    if isinstance(model, DecoderOnlyTransformer):
        prompts, pads = source_prompts(src_tokens)
        cache = DecoderCache.without_memory(
            model.decoder, rows=prompts.size(0), reserve=prompts.size(1) + reserve, pads=pads
        )
        logits, cache = cache.extend(prompts)
        return logits[:, -1], cache
    cache = DecoderCache.start(model, model.encode(src_tokens), reserve=1 + reserve)
    bos = torch.full((src_tokens.size(0), 1), BOS_ID, dtype=torch.long, device=src_tokens.device)
    return cache.step(bos)


def source_prompts(src_tokens: Tensor) -> tuple[Tensor, Tensor]:
    """Each source's prompt, left-padded so that they all end in the same column.

    Args:
        src_tokens: (batch, src_len) long, right-padded with 0.

    Returns:
        prompts (batch, src_len + 2) long and the padding in front of each (batch,) long.
    """
    rows = [source_prompt(ids) for ids in _unpadded(src_tokens)]
    width = src_tokens.size(1) + 2
    prompts = torch.tensor([[PAD_ID] * (width - len(row)) + row for row in rows])
    pads = torch.tensor([width - len(row) for row in rows])
    return prompts.to(src_tokens.device), pads.to(src_tokens.device)


def target_limit(cfg: TransformerConfig, source_tokens: Tensor | int) -> Tensor | int:
    """The most target tokens (eos excluded) that the positions leave room for after a
    source of ``source_tokens`` (eos included; a tensor of them or one number): all but
    bos's, or a decoder-only model's after its prompt."""
    if cfg.decoder_only:
        return cfg.max_positions - 2 - source_tokens
    return cfg.max_positions - 1


def source_limit(cfg: TransformerConfig) -> int:
    """The most source tokens (eos excluded) a model reads: all its positions but eos's, or a
    decoder-only model's share of them (``joined_side_limit``), as in training."""
    if cfg.decoder_only:
        return joined_side_limit(cfg.max_positions)
    return cfg.max_positions - 1


def _unpadded(src_tokens: Tensor) -> list[list[int]]:
    lengths = src_tokens.ne(PAD_ID).sum(1).tolist()
    return [row[:n] for row, n in zip(src_tokens.tolist(), lengths, strict=True)]
