"""What attention attends to: projected keys/values, the encoder output, and what a decoder
needs from a cache of its earlier positions (Vaswani et al. 2017, Sections 3.2.2 and 3.2.3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from torch import Tensor


@dataclass(frozen=True)
class KeyValue:
    """Projected keys K W^K and values V W^V of one attention layer (Section 3.2.2).

    Attributes:
        key: (batch, heads, len, head_dim)
        value: (batch, heads, len, head_dim)
    """

    key: Tensor
    value: Tensor

    def contiguous(self) -> KeyValue:
        """Keys and values each in one contiguous block (a step reads them faster)."""
        return KeyValue(self.key.contiguous(), self.value.contiguous())

    def index_select(self, indices: Tensor) -> KeyValue:
        """Keep the batch rows ``indices`` (n,), in that order."""
        return KeyValue(self.key.index_select(0, indices), self.value.index_select(0, indices))


@dataclass(frozen=True)
class EncoderOutput:
    """The encoder output that every decoder layer attends to (Section 3.2.3), with its mask.

    Attributes:
        states: (batch, src_len, d_model)
        key_mask: (batch, 1, 1, src_len), True at real source tokens; None when nothing is padded.
    """

    states: Tensor
    key_mask: Tensor | None


class PastKeyValues(Protocol):
    """The self-attention keys/values of a layer's earlier positions, as incremental decoding
    keeps them between steps (``SelfAttention`` appends the newest positions' and attends over
    all). Search provides the implementation: ``seq2seq.inference.runtime.cache``.
    """

    @property
    def key(self) -> Tensor:
        """(batch, heads, entries, head_dim)"""

    @property
    def value(self) -> Tensor:
        """(batch, heads, entries, head_dim)"""

    def append(self, new: KeyValue) -> PastKeyValues:
        """The stored entries followed by ``new`` (batch, heads, new_entries, head_dim)."""
