"""Where incremental decoding starts: what the decoder reads before the first target token it
predicts, the same contract for both architectures."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from seq2seq.model.cache import KeyValue


@dataclass(frozen=True)
class DecodingStart:
    """What incremental decoding reads first, one row per source sentence.

    The encoder-decoder reads bos over the encoder output's cross-attention keys/values; a
    decoder-only model reads the source as a prompt (``source_prompt``), left-padded so that
    every row's next token goes in at the same step.

    Attributes:
        tokens: (batch, n) long, the tokens the decoder reads in one pass; the logits after
            the last column are the first target token's.
        pads: (batch,) long, the padding in front of each row of ``tokens``; None without.
        cross: per decoder layer, cross-attention keys/values (batch, heads, src_len,
            head_dim); None without an encoder.
        memory_mask: (batch, 1, 1, src_len) bool, True at real source tokens; or None.
    """

    tokens: Tensor
    pads: Tensor | None = None
    cross: list[KeyValue] | None = None
    memory_mask: Tensor | None = None
