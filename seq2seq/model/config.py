"""The architecture's hyperparameters as one dataclass."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from seq2seq.common.special import BOS_ID, EOS_ID, PAD_ID, UNK_ID
from seq2seq.model.feedforward import ACTIVATION_FUNCTIONS

SPECIAL_IDS = (PAD_ID, UNK_ID, BOS_ID, EOS_ID)
# Keys that earlier versions wrote into config.yaml and checkpoints, with the only value they
# ever held in a model this version can run: word_dropout acted in training only.
RETIRED = {"pad_id": PAD_ID, "word_dropout": None}


@dataclass(frozen=True)
class TransformerConfig:
    """Hyperparameters of the encoder-decoder Transformer (Vaswani et al. 2017, Table 3).

    The defaults are the paper's "base" model. Presets live in ``conf/model/``. With
    ``encoder_layers=0`` the decoder stands alone (``DecoderOnlyTransformer``): its layers have
    no cross-attention, and its one vocabulary is both sizes.

    Attributes:
        src_vocab_size: source vocabulary size, special ids included.
        tgt_vocab_size: target vocabulary size, special ids included.
        d_model: width of every residual stream (the paper's d_model).
        n_heads: attention heads h; each head has d_k = d_v = d_model / h.
        encoder_layers: N for the encoder stack; 0 for a decoder-only model.
        decoder_layers: N for the decoder stack.
        ffn_dim: inner width d_ff of the position-wise feed-forward network.
        dropout: residual dropout P_drop, applied to every sub-layer output and to the
            embedding + position sums (Section 5.4).
        attention_dropout: dropout on the attention probabilities (0 in the paper).
        activation_dropout: dropout after the feed-forward ReLU (0 in the paper).
        share_embeddings: one matrix for source, target and output embeddings (needs a
            joint vocabulary, Section 3.4).
        tie_output_embeddings: the pre-softmax projection reuses the target embedding.
        pre_norm: LayerNorm before each sub-layer (pre-LN) instead of after the residual
            sum (post-LN, the paper's order).
        learned_positions: learned position embeddings instead of sinusoids (Section 3.5).
        max_positions: longest sequence, in tokens, that either side may have.
        layer_norm_eps: epsilon of every LayerNorm.
        activation: the feed-forward network's nonlinearity: "relu" (the paper's) or
            "swish" (x * sigmoid(x), which OPUS-MT's Marian models use).
        output_bias: the pre-softmax projection adds a bias per target token (Marian's
            ``final_logits_bias``; an imported model's left-out copies of an id sit at -1e4).
    """

    src_vocab_size: int
    tgt_vocab_size: int
    d_model: int = 512
    n_heads: int = 8
    encoder_layers: int = 6
    decoder_layers: int = 6
    ffn_dim: int = 2048
    dropout: float = 0.1
    attention_dropout: float = 0.0
    activation_dropout: float = 0.0
    share_embeddings: bool = False
    tie_output_embeddings: bool = True
    pre_norm: bool = False
    learned_positions: bool = False
    max_positions: int = 1024
    layer_norm_eps: float = 1e-5
    activation: str = "relu"
    output_bias: bool = False

    def __post_init__(self) -> None:
        for name in ("d_model", "n_heads", "ffn_dim", "max_positions"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})"
            )
        if not self.learned_positions and self.d_model % 2:
            raise ValueError(f"sinusoidal positions need an even d_model, got {self.d_model}")
        if self.share_embeddings and self.src_vocab_size != self.tgt_vocab_size:
            raise ValueError(
                "share_embeddings needs one joint vocabulary, got "
                f"src_vocab_size={self.src_vocab_size} and tgt_vocab_size={self.tgt_vocab_size}"
            )
        if self.decoder_only and self.src_vocab_size != self.tgt_vocab_size:
            raise ValueError(
                "a decoder-only model (encoder_layers=0) has one vocabulary, got "
                f"src_vocab_size={self.src_vocab_size} and tgt_vocab_size={self.tgt_vocab_size}"
            )
        if self.encoder_layers < 0 or self.decoder_layers < 1:
            raise ValueError(
                "need encoder_layers >= 0 and decoder_layers >= 1, got "
                f"{self.encoder_layers} and {self.decoder_layers}"
            )
        for name in ("src_vocab_size", "tgt_vocab_size"):
            if getattr(self, name) <= max(SPECIAL_IDS):
                raise ValueError(f"{name} must be larger than the special ids {SPECIAL_IDS}")
        if self.activation not in ACTIVATION_FUNCTIONS:
            choices = tuple(ACTIVATION_FUNCTIONS)
            raise ValueError(f"activation must be one of {choices}, got {self.activation!r}")
        for name in ("dropout", "attention_dropout", "activation_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TransformerConfig:
        """From a model directory's or checkpoint's ``model`` mapping, also one written by an
        earlier version (retired keys dropped).

        Raises:
            TypeError: an unknown or missing key; ValueError: an impossible value.
        """
        values = dict(values)
        for key, only in RETIRED.items():
            value = values.pop(key, only)
            if only is not None and value != only:
                raise ValueError(f"{key} must be {only}")
        return cls(**values)

    @classmethod
    def keys(cls) -> set[str]:
        """Every key ``from_dict`` accepts."""
        return {f.name for f in fields(cls)} | set(RETIRED)

    @property
    def decoder_only(self) -> bool:
        """No encoder: a language model, or a translator of "source <sep> target" sequences."""
        return self.encoder_layers == 0

    @property
    def head_dim(self) -> int:
        """d_k = d_v = d_model / h."""
        return self.d_model // self.n_heads
