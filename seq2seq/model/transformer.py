"""The encoder-decoder Transformer (Vaswani et al. 2017, Section 3, Figure 1)."""

from __future__ import annotations

from torch import Tensor, nn

from seq2seq.common.special import PAD_ID
from seq2seq.model.cache import (
    FIRST_CAPACITY,
    DecoderCache,
    EncoderOutput,
    KeyValue,
    KeyValueBuffer,
)
from seq2seq.model.config import TransformerConfig
from seq2seq.model.embedding import InputEmbedding, TokenEmbedding
from seq2seq.model.layers import AttentionMaps, DecoderLayer, EncoderLayer


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
        self.output_proj = nn.Linear(cfg.d_model, cfg.tgt_vocab_size, bias=False)
        if cfg.tie_output_embeddings:
            # Section 3.4: the pre-softmax projection is the target embedding matrix itself.
            self.output_proj.weight = embedding.weight
        else:
            nn.init.normal_(self.output_proj.weight, std=cfg.d_model**-0.5)

    def project_memory(self, memory: EncoderOutput) -> list[KeyValue]:
        """Cross-attention keys/values of every layer, each (batch, heads, src_len, d_k)."""
        return [layer.cross_attn.project_memory(memory.states) for layer in self.layers]

    def forward(
        self,
        tokens: Tensor,
        cross: list[KeyValue],
        *,
        memory_mask: Tensor | None,
        maps: AttentionMaps | None = None,
        select: Tensor | None = None,
    ) -> Tensor:
        """Run the stack over a whole target prefix under the look-ahead mask.

        Args:
            tokens: (batch, tgt_len) long, right-padded target prefix.
            cross: per layer, cross-attention keys/values from ``project_memory``.
            memory_mask: (batch, 1, 1, src_len) bool, True at real source tokens; or None.
            maps: when given, each layer's attention probabilities are appended to it.
            select: (batch, tgt_len) bool; when given, logits only at the True positions.

        Returns:
            logits (batch, tgt_len, tgt_vocab), or (selected, tgt_vocab) with ``select``.
        """
        x = self.embed(tokens)
        for layer, layer_cross in zip(self.layers, cross, strict=True):
            x, _ = layer(x, layer_cross, memory_mask=memory_mask, maps=maps)
        x = self.final_norm(x)
        # The vocabulary projection is the largest matrix product of a step: skip the padding.
        return self.output_proj(x if select is None else x[select])

    def step(
        self, tokens: Tensor, cache: DecoderCache, *, self_mask: Tensor | None
    ) -> tuple[Tensor, list[KeyValueBuffer]]:
        """Run the stack over the newest position of every row, after the cached ones.

        The rows of a group (a sentence's beams) go through the layers as ``width`` query
        positions of one sequence: they share its cross-attention keys/values and attend to
        the self-attention entries of their group that ``self_mask`` allows.

        Args:
            tokens: (rows, 1) long, the newest token of each row; rows = groups * width.
            cache: what earlier steps stored.
            self_mask: (groups, 1, width, entries) bool from ``DecoderCache.next_paths``.

        Returns:
            logits (rows, tgt_vocab) and, per layer, the self-attention entries grown by one
            per row.
        """
        x = self.embed(tokens, offset=cache.length)
        x = x.view(cache.groups, -1, x.size(-1))  # (groups, width, d_model)
        layers = zip(self.layers, cache.cross_attention, cache.self_attention, strict=True)
        new_past = []
        for layer, cross, past in layers:
            x, kv = layer(x, cross, memory_mask=cache.memory_mask, past=past, self_mask=self_mask)
            new_past.append(kv)
        logits = self.output_proj(self.final_norm(x))
        return logits.view(tokens.size(0), -1), new_past


class Transformer(nn.Module):
    """The encoder-decoder Transformer of "Attention Is All You Need".

    Source, target and output embeddings are one matrix when ``share_embeddings`` is set
    (Section 3.4). Token ids follow the project's convention: pad 0, unk 1, bos 2, eos 3.
    """

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
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

    def encode(self, src_tokens: Tensor) -> EncoderOutput:
        """Run the encoder once per source batch.

        Args:
            src_tokens: (batch, src_len) long, padded with ``PAD_ID``.

        Returns:
            states (batch, src_len, d_model) and the key mask (batch, 1, 1, src_len) or None.
        """
        return self.encoder(src_tokens)

    def decode_step(
        self,
        last_tokens: Tensor,
        memory: EncoderOutput,
        cache: DecoderCache | None = None,
        *,
        reserve: int = FIRST_CAPACITY,
    ) -> tuple[Tensor, DecoderCache]:
        """One step of incremental decoding.

        Args:
            last_tokens: (batch, 1) long, the newest target token of each row (bos first).
            memory: the encoder output for the same rows (read at the first step only; later
                steps use the keys/values stored in ``cache``).
            cache: None at the first step, then what the previous step returned (reordered by
                beam search if it likes).
            reserve: at the first step, room for this many self-attention entries per source
                sentence, one per row and step (beam search: 1 + beam_size * max_len); the
                buffers grow, by copying, only past it.

        Returns:
            logits (batch, tgt_vocab) for the next token and the cache grown by one position.
        """
        if cache is None:
            cross, mask = self.decoder.project_memory(memory), memory.key_mask
            cache = DecoderCache.start(cross, mask, reserve=reserve)
        paths, self_mask = cache.next_paths()
        logits, past = self.decoder.step(last_tokens, cache, self_mask=self_mask)
        return logits, DecoderCache(past, cache.cross_attention, cache.memory_mask, paths)
