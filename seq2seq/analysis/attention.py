"""Attention probabilities of one sentence pair, with the subword tokens they relate.

The pair is teacher-forced through the model's ``pair_attention`` (the explicit softmax
path): for a decoded translation, decode first and pass the output as the target. A
decoder-only model gives the blocks of its self-attention over the pair read as one sequence
(``DecoderOnlyTransformer.pair_attention``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor

from seq2seq.common.special import BOS_ID, EOS_ID
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
    maps = model.pair_attention(
        torch.tensor([src_ids], device=device), torch.tensor([tgt_ids], device=device)
    )
    return replace(
        tokens,
        encoder_self=[m[0].cpu() for m in maps.encoder_self],
        decoder_self=[m[0].cpu() for m in maps.decoder_self],
        cross=[m[0].cpu() for m in maps.cross],
    )
