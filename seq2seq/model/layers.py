"""One encoder layer and one decoder layer (Vaswani et al. 2017, Section 3.1, Figure 1)."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor, nn

from seq2seq.model.attention import CrossAttention, SelfAttention
from seq2seq.model.cache import KeyValue, PastKeyValues
from seq2seq.model.config import TransformerConfig
from seq2seq.model.feedforward import PositionwiseFeedForward
from seq2seq.model.residual import ResidualNorm


@dataclass
class AttentionMaps:
    """The attention weights softmax(QK^T / sqrt(d_k)) of Section 3.2.1, layer by layer.

    Each entry is (batch, heads, tgt_len, src_len); rows sum to 1 over the allowed positions.
    """

    encoder_self: list[Tensor] = field(default_factory=list)
    decoder_self: list[Tensor] = field(default_factory=list)
    cross: list[Tensor] = field(default_factory=list)


def _residual(cfg: TransformerConfig) -> ResidualNorm:
    return ResidualNorm(
        cfg.d_model, dropout=cfg.dropout, pre_norm=cfg.pre_norm, eps=cfg.layer_norm_eps
    )


def _self_attention(cfg: TransformerConfig) -> SelfAttention:
    return SelfAttention(cfg.d_model, cfg.n_heads, dropout=cfg.attention_dropout)


def _feed_forward(cfg: TransformerConfig) -> PositionwiseFeedForward:
    return PositionwiseFeedForward(
        cfg.d_model, cfg.ffn_dim, activation_dropout=cfg.activation_dropout,
        activation=cfg.activation,
    )  # fmt: skip


class EncoderLayer(nn.Module):
    """Section 3.1: self-attention, then the feed-forward network, each in residual + LayerNorm."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.self_attn = _self_attention(cfg)
        self.self_attn_residual = _residual(cfg)
        self.ffn = _feed_forward(cfg)
        self.ffn_residual = _residual(cfg)

    def forward(
        self, x: Tensor, *, mask: Tensor | None, maps: AttentionMaps | None = None
    ) -> Tensor:
        """Encode one more level.

        Args:
            x: (batch, src_len, d_model)
            mask: (batch, 1, 1, src_len) bool, True at real tokens; None when nothing is padded.
            maps: when given, this layer's self-attention probabilities are appended to it.

        Returns:
            (batch, src_len, d_model)
        """
        h = self.self_attn_residual.normalize_input(x)
        attended, _, probs = self.self_attn(h, mask=mask, need_weights=maps is not None)
        x = self.self_attn_residual.add(x, attended)
        if maps is not None:
            maps.encoder_self.append(probs)
        return self.ffn_residual(x, self.ffn)


class DecoderLayer(nn.Module):
    """Section 3.1: masked self-attention, cross-attention over the encoder output, feed-forward.

    Without an encoder (``cfg.decoder_only``) there is no cross-attention: masked self-attention
    and the feed-forward network alone, the block of GPT (Radford et al. 2018).
    """

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.self_attn = _self_attention(cfg)
        self.self_attn_residual = _residual(cfg)
        self.cross_attn: CrossAttention | None = None
        if not cfg.decoder_only:
            self.cross_attn = CrossAttention(
                cfg.d_model, cfg.n_heads, dropout=cfg.attention_dropout
            )
            self.cross_attn_residual = _residual(cfg)
        self.ffn = _feed_forward(cfg)
        self.ffn_residual = _residual(cfg)

    def forward(
        self,
        x: Tensor,
        memory: KeyValue | None,
        *,
        memory_mask: Tensor | None,
        past: PastKeyValues | None = None,
        self_mask: Tensor | None = None,
        maps: AttentionMaps | None = None,
    ) -> tuple[Tensor, KeyValue | PastKeyValues]:
        """Decode one more level.

        Without ``past`` the whole target prefix is processed under the look-ahead mask. Targets
        are right-padded, so the look-ahead mask alone keeps real positions off the padding.
        With ``past`` (incremental decoding), ``x`` holds new positions that attend to the
        stored entries and to themselves, as far as ``self_mask`` allows.

        Args:
            x: (batch, tgt_len, d_model)
            memory: this layer's cross-attention keys/values, (batch, heads, src_len, d_k);
                None in a decoder-only layer.
            memory_mask: (batch, 1, 1, src_len) bool, True at real source tokens; or None.
            past: this layer's self-attention keys/values of earlier positions; or None.
            self_mask: with ``past``, (batch, 1, tgt_len, entries + tgt_len) bool, True where
                a position may attend; None for all.
            maps: when given, this layer's attention probabilities are appended to it.

        Returns:
            (batch, tgt_len, d_model) and the self-attention keys/values of all positions.
        """
        need_weights = maps is not None
        h = self.self_attn_residual.normalize_input(x)
        attended, kv, self_probs = self.self_attn(
            h, mask=self_mask, is_causal=past is None, past=past, need_weights=need_weights
        )
        x = self.self_attn_residual.add(x, attended)
        if maps is not None:
            maps.decoder_self.append(self_probs)
        if self.cross_attn is not None:
            h = self.cross_attn_residual.normalize_input(x)
            attended, cross_probs = self.cross_attn(
                h, memory, mask=memory_mask, need_weights=need_weights
            )
            x = self.cross_attn_residual.add(x, attended)
            if maps is not None:
                maps.cross.append(cross_probs)
        return self.ffn_residual(x, self.ffn), kv
