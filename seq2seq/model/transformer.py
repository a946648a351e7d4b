"""The encoder-decoder Transformer (Vaswani et al. 2017, Section 3, Figure 1)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from seq2seq.common.special import BOS_ID, PAD_ID
from seq2seq.model.cache import EncoderOutput, KeyValue, PastKeyValues
from seq2seq.model.config import TransformerConfig
from seq2seq.model.embedding import InputEmbedding, TokenEmbedding
from seq2seq.model.layers import AttentionMaps, DecoderLayer, EncoderLayer
from seq2seq.model.start import DecodingStart


def _final_norm(cfg: TransformerConfig) -> nn.Module:
    """A pre-LN stack ends with a LayerNorm; a post-LN stack already ends normalized."""
    if cfg.pre_norm:
        return nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
    return nn.Identity()


class Encoder(nn.Module):
    """Embeddings + positions, then N encoder layers (Section 3.1, left half of Figure 1)."""

    def __init__(self, cfg: TransformerConfig, embedding: TokenEmbedding) -> None:
        super().__init__()
        self.embed = InputEmbedding(cfg, embedding)
        self.layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.encoder_layers))
        self.final_norm = _final_norm(cfg)

    def forward(self, src_tokens: Tensor, *, maps: AttentionMaps | None = None) -> EncoderOutput:
        """Encode a right- or left-padded batch.

        Args:
            src_tokens: (batch, src_len) long, padded with ``PAD_ID``.
            maps: when given, each layer's self-attention probabilities are appended to it.

        Returns:
            states (batch, src_len, d_model) and the key mask (batch, 1, 1, src_len) or None.
        """
        real = src_tokens.ne(PAD_ID)
        mask = None if bool(real.all()) else real[:, None, None, :]
        x = self.embed(src_tokens)
        for layer in self.layers:
            x = layer(x, mask=mask, maps=maps)
        return EncoderOutput(self.final_norm(x), mask)


class Decoder(nn.Module):
    """Embeddings + positions, N decoder layers, then the pre-softmax projection (Figure 1)."""

    def __init__(self, cfg: TransformerConfig, embedding: TokenEmbedding) -> None:
        super().__init__()
        self.embed = InputEmbedding(cfg, embedding)
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.decoder_layers))
        self.final_norm = _final_norm(cfg)
        self.output_proj = nn.Linear(cfg.d_model, cfg.tgt_vocab_size, bias=cfg.output_bias)
        if cfg.output_bias:
            nn.init.zeros_(self.output_proj.bias)
        if cfg.tie_output_embeddings:
            # Section 3.4: the pre-softmax projection is the target embedding matrix itself.
            self.output_proj.weight = embedding.weight
        else:
            nn.init.normal_(self.output_proj.weight, std=cfg.d_model**-0.5)

    def project_memory(self, memory: EncoderOutput) -> list[KeyValue]:
        """Cross-attention keys/values of every layer, each (batch, heads, src_len, d_k)."""
        return [layer.cross_attn.project_memory(memory.states) for layer in self.layers]

    def _per_layer(self, cross: list[KeyValue] | None) -> list[KeyValue] | list[None]:
        """Each layer's cross-attention keys/values; None for each layer without an encoder."""
        return [None] * len(self.layers) if cross is None else cross

    def forward(
        self,
        tokens: Tensor,
        cross: list[KeyValue] | None,
        *,
        memory_mask: Tensor | None,
        maps: AttentionMaps | None = None,
        select: Tensor | None = None,
    ) -> Tensor:
        """Run the stack over a whole target prefix under the look-ahead mask.

        Args:
            tokens: (batch, tgt_len) long, right-padded target prefix.
            cross: per layer, cross-attention keys/values from ``project_memory``; None
                without an encoder.
            memory_mask: (batch, 1, 1, src_len) bool, True at real source tokens; or None.
            maps: when given, each layer's attention probabilities are appended to it.
            select: (batch, tgt_len) bool; when given, logits only at the True positions.

        Returns:
            logits (batch, tgt_len, tgt_vocab), or (selected, tgt_vocab) with ``select``.
        """
        x = self.embed(tokens)
        for layer, layer_cross in zip(self.layers, self._per_layer(cross), strict=True):
            x, _ = layer(x, layer_cross, memory_mask=memory_mask, maps=maps)
        x = self.final_norm(x)
        # The vocabulary projection is the largest matrix product of a step: skip the padding.
        return self.output_proj(x if select is None else x[select])

    def step(
        self,
        tokens: Tensor,
        cross: list[KeyValue] | None,
        past: list[PastKeyValues],
        *,
        positions: Tensor,
        memory_mask: Tensor | None,
        self_mask: Tensor | None,
        project: nn.Module | None = None,
    ) -> tuple[Tensor, list[PastKeyValues]]:
        """Run the stack over new target positions after the cached ones (incremental decoding).

        Args:
            tokens: (batch, new) long, the new tokens.
            cross: per layer, cross-attention keys/values from ``project_memory``; None
                without an encoder.
            past: per layer, the self-attention keys/values of the earlier positions.
            positions: (new,) long, the target position of each column of ``tokens``, or
                (batch, new) of each token.
            memory_mask: (batch, 1, 1, src_len) bool, True at real source tokens; or None.
            self_mask: (batch, 1, new, entries + new) bool, True where a new position may
                attend to a stored or new entry; None for all.
            project: the vocabulary projection, d_model -> scored tokens; None:
                ``output_proj`` (a search over some of the vocabulary passes those rows of it).

        Returns:
            logits (batch, new, scored tokens) and, per layer, ``past`` with the new entries.
        """
        x = self.embed(tokens, positions=positions)
        new_past = []
        layers = zip(self.layers, self._per_layer(cross), past, strict=True)
        for layer, layer_cross, layer_past in layers:
            x, kv = layer(
                x, layer_cross, memory_mask=memory_mask, past=layer_past, self_mask=self_mask
            )
            new_past.append(kv)
        project = self.output_proj if project is None else project
        return project(self.final_norm(x)), new_past


class Transformer(nn.Module):
    """The encoder-decoder Transformer of "Attention Is All You Need".

    Source, target and output embeddings are one matrix when ``share_embeddings`` is set
    (Section 3.4). Token ids follow the project's convention: pad 0, unk 1, bos 2, eos 3.
    """

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        if cfg.decoder_only:
            raise ValueError("encoder_layers=0 is a decoder-only model: DecoderOnlyTransformer")
        self.cfg = cfg
        src_embed = TokenEmbedding(cfg.src_vocab_size, cfg.d_model)
        tgt_embed = (
            src_embed if cfg.share_embeddings else TokenEmbedding(cfg.tgt_vocab_size, cfg.d_model)
        )
        self.encoder = Encoder(cfg, src_embed)
        self.decoder = Decoder(cfg, tgt_embed)

    def forward(
        self, src_tokens: Tensor, prev_output_tokens: Tensor, *, select: Tensor | None = None
    ) -> Tensor:
        """Teacher-forced logits.

        Args:
            src_tokens: (batch, src_len) long, padded with ``PAD_ID``.
            prev_output_tokens: (batch, tgt_len) long, the target shifted right (bos first),
                right-padded with ``PAD_ID``.
            select: (batch, tgt_len) bool, the positions whose logits are wanted (training
                passes the real target tokens); None for all.

        Returns:
            (batch, tgt_len, tgt_vocab) unnormalized scores of the next token, or
            (selected, tgt_vocab) with ``select``.
        """
        memory = self.encoder(src_tokens)
        cross = self.decoder.project_memory(memory)
        return self.decoder(prev_output_tokens, cross, memory_mask=memory.key_mask, select=select)

    pair_layout = "pairs"
    """How its teacher-forced pass reads a pair (``seq2seq.data.batching.LAYOUTS``): source
    to the encoder, target to the decoder."""

    def teacher_forced(
        self, src_tokens: Tensor, prev_output_tokens: Tensor, *, select: Tensor | None = None
    ) -> Tensor:
        """The teacher-forced pass that training scores and forced decoding reads: ``forward``.
        (A decoder-only model reads the pair joined in ``prev_output_tokens``.)"""
        return self(src_tokens, prev_output_tokens, select=select)

    def start_decoding(self, src_tokens: Tensor) -> DecodingStart:
        """The encoder runs once; the decoder starts with bos over its output.

        Args:
            src_tokens: (batch, src_len) long, right-padded with ``PAD_ID``.
        """
        memory = self.encoder(src_tokens)
        cross = [kv.contiguous() for kv in self.decoder.project_memory(memory)]
        bos = torch.full(
            (src_tokens.size(0), 1), BOS_ID, dtype=torch.long, device=src_tokens.device
        )
        return DecodingStart(bos, cross=cross, memory_mask=memory.key_mask)

    def source_limit(self) -> int:
        """The most source tokens (eos excluded) the model reads: all its positions but eos's."""
        return self.cfg.max_positions - 1

    def target_limit(self, source_tokens: Tensor) -> Tensor:
        """The most target tokens (eos excluded) its positions hold: all but bos's.

        Args:
            source_tokens: (batch,) long, each source's tokens, eos included.
        """
        return torch.full_like(source_tokens, self.cfg.max_positions - 1)

    def forward_with_attention(
        self, src_tokens: Tensor, prev_output_tokens: Tensor
    ) -> tuple[Tensor, AttentionMaps]:
        """``forward`` on the explicit-softmax path, also returning every attention map.

        Returns:
            logits (batch, tgt_len, tgt_vocab) and the per-layer probabilities: encoder self
            (batch, heads, src_len, src_len), decoder self (batch, heads, tgt_len, tgt_len)
            and cross (batch, heads, tgt_len, src_len).
        """
        maps = AttentionMaps()
        memory = self.encoder(src_tokens, maps=maps)
        cross = self.decoder.project_memory(memory)
        logits = self.decoder(prev_output_tokens, cross, memory_mask=memory.key_mask, maps=maps)
        return logits, maps

    def pair_attention(self, src_tokens: Tensor, prev_output_tokens: Tensor) -> AttentionMaps:
        """Every attention map of teacher-forcing a pair (``forward_with_attention``'s).

        Args:
            src_tokens: (batch, src_len) long, eos last.
            prev_output_tokens: (batch, tgt_len) long, bos first.
        """
        return self.forward_with_attention(src_tokens, prev_output_tokens)[1]

    def encode(self, src_tokens: Tensor) -> EncoderOutput:
        """Run the encoder once per source batch (incremental decoding then steps the decoder
        over its output: ``seq2seq.inference.runtime.cache``).

        Args:
            src_tokens: (batch, src_len) long, padded with ``PAD_ID``.

        Returns:
            states (batch, src_len, d_model) and the key mask (batch, 1, 1, src_len) or None.
        """
        return self.encoder(src_tokens)
