"""The Transformer's decoder alone: a language model (GPT, Radford et al. 2018).

The decoder stack of ``Transformer`` with ``encoder_layers=0``: its layers keep masked
self-attention and the feed-forward network and lose cross-attention, and the output
projection is the input embedding (Section 3.4). It reads one sequence, bos first, and
predicts each next token; incremental decoding steps it over a key/value cache exactly as it
steps the encoder-decoder's decoder (``seq2seq.inference.cache``).
"""

from __future__ import annotations

from torch import Tensor, nn

from seq2seq.model.config import TransformerConfig
from seq2seq.model.embedding import TokenEmbedding
from seq2seq.model.layers import AttentionMaps
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

    def forward_with_attention(self, tokens: Tensor) -> tuple[Tensor, AttentionMaps]:
        """``forward`` on the explicit-softmax path, also returning the self-attention maps.

        Returns:
            logits (batch, len, vocab) and, per layer, ``decoder_self`` probabilities
            (batch, heads, len, len).
        """
        maps = AttentionMaps()
        return self.decoder(tokens, None, memory_mask=None, maps=maps), maps
