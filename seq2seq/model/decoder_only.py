"""The Transformer's decoder alone: a language model (GPT, Radford et al. 2018).

The decoder stack of ``Transformer`` with ``encoder_layers=0``: its layers keep masked
self-attention and the feed-forward network and lose cross-attention, and the output
projection is the input embedding (Section 3.4). It reads one sequence, bos first, and
predicts each next token; incremental decoding steps it over a key/value cache exactly as it
steps the encoder-decoder's decoder (``seq2seq.inference.runtime.cache``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from seq2seq.common.special import PAD_ID, joined_side_limit, source_prompt
from seq2seq.model.config import TransformerConfig
from seq2seq.model.embedding import TokenEmbedding
from seq2seq.model.layers import AttentionMaps
from seq2seq.model.start import DecodingStart
from seq2seq.model.transformer import Decoder


class DecoderOnlyTransformer(nn.Module):
    """A decoder-only Transformer over one vocabulary of ``cfg.tgt_vocab_size`` entries.

    Token ids follow the project's convention: pad 0, unk 1, bos 2, eos 3.
    """

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        if not cfg.decoder_only:
            raise ValueError(
                f"a decoder-only model needs encoder_layers=0, got {cfg.encoder_layers}"
            )
        self.cfg = cfg
        self.decoder = Decoder(cfg, TokenEmbedding(cfg.tgt_vocab_size, cfg.d_model))

    def forward(self, tokens: Tensor, *, select: Tensor | None = None) -> Tensor:
        """Teacher-forced logits of each next token.

        Args:
            tokens: (batch, len) long, bos first, right-padded with ``PAD_ID``.
            select: (batch, len) bool, the positions whose logits are wanted; None for all.

        Returns:
            (batch, len, vocab) unnormalized scores of the token after each position, or
            (selected, vocab) with ``select``.
        """
        return self.decoder(tokens, None, memory_mask=None, select=select)

    pair_layout = "joined"
    """How its teacher-forced pass reads a pair (``seq2seq.data.batching.LAYOUTS``): as one
    sequence, the source's prompt then the target."""

    def teacher_forced(
        self, src_tokens: Tensor, prev_output_tokens: Tensor, *, select: Tensor | None = None
    ) -> Tensor:
        """The teacher-forced pass that training scores and forced decoding reads: ``forward``
        over ``prev_output_tokens``, which holds a pair joined (``source_prompt`` then the
        target) or a language model's sentence; ``src_tokens`` is not read."""
        return self(prev_output_tokens, select=select)

    def start_decoding(self, src_tokens: Tensor) -> DecodingStart:
        """Translation without an encoder: each source is read as its prompt
        (``source_prompt``), left-padded so that all end in the same column.

        Args:
            src_tokens: (batch, src_len) long, right-padded with ``PAD_ID``, each ending with
                eos.
        """
        lengths = src_tokens.ne(PAD_ID).sum(1).tolist()
        rows = [source_prompt(row[:n]) for row, n in zip(src_tokens.tolist(), lengths, strict=True)]
        width = max(map(len, rows))
        pads = [width - len(row) for row in rows]
        prompts = torch.tensor([[PAD_ID] * pad + row for pad, row in zip(pads, rows, strict=True)])
        device = src_tokens.device
        pads_tensor = torch.tensor(pads, device=device) if any(pads) else None
        return DecodingStart(prompts.to(device), pads=pads_tensor)

    def source_limit(self) -> int:
        """The most source tokens (eos excluded) it reads: its share of the positions
        (``joined_side_limit``), as in training."""
        return joined_side_limit(self.cfg.max_positions)

    def target_limit(self, source_tokens: Tensor) -> Tensor:
        """The most target tokens (eos excluded) its positions hold after each prompt.

        Args:
            source_tokens: (batch,) long, each source's tokens, eos included.
        """
        return self.cfg.max_positions - 2 - source_tokens

    def pair_attention(self, src_tokens: Tensor, prev_output_tokens: Tensor) -> AttentionMaps:
        """The maps of one pair read as one sequence (the source's prompt, then the target),
        its self-attention cut into blocks: source to source (``encoder_self``), target to
        target (``decoder_self``) and target to source (``cross``). Their rows sum to at most
        1: the rest goes to the first bos or, from the source, nowhere else.

        Args:
            src_tokens: (1, src_len) long, eos last, no padding.
            prev_output_tokens: (1, tgt_len) long, bos first, no padding.
        """
        src, prev = src_tokens[0].tolist(), prev_output_tokens[0].tolist()
        sequence = source_prompt(src)[:-1] + prev  # the prompt's last bos is prev[0]
        _, maps = self.forward_with_attention(src_tokens.new_tensor([sequence]))
        source = slice(1, 1 + len(src))
        target = slice(1 + len(src), len(sequence))
        return AttentionMaps(
            encoder_self=[m[:, :, source, source] for m in maps.decoder_self],
            decoder_self=[m[:, :, target, target] for m in maps.decoder_self],
            cross=[m[:, :, target, source] for m in maps.decoder_self],
        )

    def forward_with_attention(self, tokens: Tensor) -> tuple[Tensor, AttentionMaps]:
        """``forward`` on the explicit-softmax path, also returning the self-attention maps.

        Returns:
            logits (batch, len, vocab) and, per layer, ``decoder_self`` probabilities
            (batch, heads, len, len).
        """
        maps = AttentionMaps()
        return self.decoder(tokens, None, memory_mask=None, maps=maps), maps
