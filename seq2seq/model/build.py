"""The model a configuration describes."""

from __future__ import annotations

from seq2seq.model.config import TransformerConfig
from seq2seq.model.decoder_only import DecoderOnlyTransformer
from seq2seq.model.transformer import Transformer

Model = Transformer | DecoderOnlyTransformer
"""Either architecture: what a model directory or checkpoint holds."""


def build_model(cfg: TransformerConfig) -> Model:
    """The encoder-decoder Transformer, or the decoder alone when ``cfg.encoder_layers`` is 0."""
    return DecoderOnlyTransformer(cfg) if cfg.decoder_only else Transformer(cfg)
