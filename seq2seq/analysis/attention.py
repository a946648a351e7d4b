"""Attention probabilities of one sentence pair, with the subword tokens they relate.

The pair is teacher-forced through ``Transformer.forward_with_attention`` (the explicit
softmax path): for a decoded translation, decode first and pass the output as the target.

A decoder-only translation model reads the pair as one sequence (``source_prompt`` and the
target) with self-attention alone; its maps are the blocks of that attention: source to
source ("encoder_self"), target to target ("decoder_self") and target to source ("cross").
Their rows sum to at most 1: the rest goes to the first bos or, from the source, nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor

from seq2seq.common.special import BOS_ID, EOS_ID, source_prompt
from seq2seq.model import DecoderOnlyTransformer
from seq2seq.modeldir.format import LoadedModel


@dataclass(frozen=True)
class SentenceAttention:
    """Every attention map of one sentence pair, batch dimension removed.

    Attributes:
        src_tokens: source subwords and "</s>", the keys of encoder self- and cross-attention.
        tgt_tokens: "<s>" and the target subwords, the decoder's input positions (queries);
            position t predicts ``tgt_tokens[t + 1]`` (or "</s>" at the end).
        encoder_self: per layer, (heads, src_len, src_len).
        decoder_self: per layer, (heads, tgt_len, tgt_len).
        cross: per layer, (heads, tgt_len, src_len).
    """

    src_tokens: list[str]
    tgt_tokens: list[str]
    encoder_self: list[Tensor]
    decoder_self: list[Tensor]
    cross: list[Tensor]


@torch.no_grad()
def sentence_attention(loaded: LoadedModel, source: str, target: str) -> SentenceAttention:
    """Teacher-force (source, target) through the model and keep every attention map.

    Both sides are normalized and tokenized as at training time; the source is cut to the
    model's maximum length.
    """
    model = loaded.model.eval()
    limit = model.source_limit()
    (src_ids,) = loaded.src_tokenizer.encode([loaded.src_normalizer(source)])
    (tgt_ids,) = loaded.tgt_tokenizer.encode([loaded.tgt_normalizer(target)])
    src_ids, tgt_ids = [*src_ids[:limit], EOS_ID], [BOS_ID, *tgt_ids[:limit]]
    device = next(model.parameters()).device
    tokens = SentenceAttention(
        loaded.src_tokenizer.pieces(src_ids), loaded.tgt_tokenizer.pieces(tgt_ids), [], [], []
    )
    if model.cfg.decoder_only:
        return _blocks_of_self_attention(model, src_ids, tgt_ids, tokens)
    _, maps = model.forward_with_attention(
        torch.tensor([src_ids], device=device), torch.tensor([tgt_ids], device=device)
    )
    return replace(
        tokens,
        encoder_self=[m[0].cpu() for m in maps.encoder_self],
        decoder_self=[m[0].cpu() for m in maps.decoder_self],
        cross=[m[0].cpu() for m in maps.cross],
    )


def _blocks_of_self_attention(
    model: DecoderOnlyTransformer, src_ids: list[int], tgt_ids: list[int], tokens: SentenceAttention
) -> SentenceAttention:
    """A decoder-only model's maps: its self-attention over ``source_prompt(src_ids)`` and
    the target, cut into the source and target blocks."""
    sequence = source_prompt(src_ids)[:-1] + tgt_ids  # the prompt's last bos is tgt_ids[0]
    device = next(model.parameters()).device
    _, maps = model.forward_with_attention(torch.tensor([sequence], device=device))
    src, tgt = slice(1, 1 + len(src_ids)), slice(1 + len(src_ids), len(sequence))
    layers = [m[0].cpu() for m in maps.decoder_self]  # (heads, len, len)
    return replace(
        tokens,
        encoder_self=[m[:, src, src] for m in layers],
        decoder_self=[m[:, tgt, tgt] for m in layers],
        cross=[m[:, tgt, src] for m in layers],
    )
