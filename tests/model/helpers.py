"""Tiny models and batches for the model tests."""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor

from seq2seq.model import DecoderOnlyTransformer, Transformer, TransformerConfig

PAD, BOS, EOS = 0, 2, 3
VOCAB = 23

TINY = TransformerConfig(
    src_vocab_size=VOCAB,
    tgt_vocab_size=VOCAB,
    d_model=16,
    n_heads=4,
    encoder_layers=2,
    decoder_layers=2,
    ffn_dim=32,
    dropout=0.0,
    share_embeddings=True,
    max_positions=64,
)


def tiny_model(**changes: object) -> Transformer:
    """A seeded tiny Transformer in eval mode; ``changes`` override fields of ``TINY``."""
    return Transformer(replace(TINY, **changes)).eval()


def tiny_decoder_only(**changes: object) -> DecoderOnlyTransformer:
    """A seeded tiny decoder-only Transformer in eval mode: ``TINY`` without its encoder."""
    return DecoderOnlyTransformer(replace(TINY, encoder_layers=0, **changes)).eval()


def random_tokens(batch: int, length: int) -> Tensor:
    """(batch, length) ids drawn from the non-special part of the vocabulary."""
    return torch.randint(4, VOCAB, (batch, length))


def pad_to(sequences: list[Tensor], length: int) -> Tensor:
    """Right-pad 1-D id tensors to (len(sequences), length) with PAD."""
    out = torch.full((len(sequences), length), PAD)
    for row, sequence in enumerate(sequences):
        out[row, : sequence.numel()] = sequence
    return out
