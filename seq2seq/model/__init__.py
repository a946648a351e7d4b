"""The encoder-decoder Transformer and its decoder alone, in plain PyTorch; imports nothing
else of the project."""

from seq2seq.model.attention import CrossAttention, MultiHeadAttention, SelfAttention
from seq2seq.model.build import Model, build_model
from seq2seq.model.cache import EncoderOutput, KeyValue, PastKeyValues
from seq2seq.model.config import TransformerConfig
from seq2seq.model.decoder_only import DecoderOnlyTransformer
from seq2seq.model.embedding import InputEmbedding, PositionalEncoding, TokenEmbedding
from seq2seq.model.feedforward import PositionwiseFeedForward
from seq2seq.model.layers import AttentionMaps, DecoderLayer, EncoderLayer
from seq2seq.model.start import DecodingStart
from seq2seq.model.transformer import Decoder, Encoder, Transformer

__all__ = [
    "AttentionMaps",
    "CrossAttention",
    "Decoder",
    "DecoderLayer",
    "DecoderOnlyTransformer",
    "DecodingStart",
    "Encoder",
    "EncoderLayer",
    "EncoderOutput",
    "InputEmbedding",
    "KeyValue",
    "Model",
    "MultiHeadAttention",
    "PastKeyValues",
    "PositionalEncoding",
    "PositionwiseFeedForward",
    "SelfAttention",
    "TokenEmbedding",
    "Transformer",
    "TransformerConfig",
    "build_model",
]
