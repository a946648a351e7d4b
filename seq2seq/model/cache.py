"""State carried between decoding steps: keys/values per layer, reordered for beam search."""

from __future__ import annotations

from dataclasses import dataclass

import torch
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

    def append(self, new: KeyValue) -> KeyValue:
        """Concatenate ``new`` (batch, heads, steps, head_dim) after the stored positions."""
        return KeyValue(torch.cat([self.key, new.key], 2), torch.cat([self.value, new.value], 2))

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

    def index_select(self, indices: Tensor) -> EncoderOutput:
        """Keep the batch rows ``indices`` (n,); repeat rows to expand a batch into beams."""
        mask = None if self.key_mask is None else self.key_mask.index_select(0, indices)
        return EncoderOutput(self.states.index_select(0, indices), mask)


@dataclass(frozen=True)
class DecoderCache:
    """State of auto-regressive decoding (Section 3: "consuming the previously generated symbols").

    Self-attention keys/values grow by one position per step; cross-attention keys/values are
    projected from the encoder output once, at the first step, and then only reordered.

    Attributes:
        self_attention: one KeyValue per decoder layer, (batch, heads, steps, head_dim).
        cross_attention: one KeyValue per decoder layer, (batch, heads, src_len, head_dim).
        memory_mask: (batch, 1, 1, src_len), True at real source tokens; or None.
    """

    self_attention: list[KeyValue]
    cross_attention: list[KeyValue]
    memory_mask: Tensor | None

    @property
    def length(self) -> int:
        """Target positions decoded so far."""
        return self.self_attention[0].key.size(2)

    def reorder(self, indices: Tensor) -> DecoderCache:
        """Follow beam search's choices: row i of the result is row ``indices[i]`` of this cache.

        The cross-attention keys/values hold one row per source sentence while the decoder may
        hold g rows (beams) per source. When every new group of g rows comes from one source,
        as in beam search, they are only narrowed to the surviving sources; otherwise they are
        expanded to one row per decoder row.

        Args:
            indices: (new_batch,) long tensor of rows to keep; repeats and drops are allowed, so
                the same call expands beams, reorders them and removes finished sentences.
        """
        rows = self.self_attention[0].key.size(0)
        group = rows // self.cross_attention[0].key.size(0)
        source_of_row = indices // group
        by_group = source_of_row.view(-1, group) if len(indices) % group == 0 else None
        if by_group is not None and bool((by_group == by_group[:, :1]).all()):
            sources = by_group[:, 0]
        else:
            sources = source_of_row
        mask = None if self.memory_mask is None else self.memory_mask.index_select(0, sources)
        return DecoderCache(
            self_attention=[kv.index_select(indices) for kv in self.self_attention],
            cross_attention=[kv.index_select(sources) for kv in self.cross_attention],
            memory_mask=mask,
        )
