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

    def index_select(self, indices: Tensor) -> KeyValue:
        """Keep the batch rows ``indices`` (n,), in that order."""
        return KeyValue(self.key.index_select(0, indices), self.value.index_select(0, indices))


@dataclass(frozen=True)
class KeyValueBuffer:
    """Self-attention keys/values of the positions decoded so far, in a buffer with room to grow.

    A decoding step writes its new position in place instead of copying the whole cache (as
    ``torch.cat`` would); the capacity doubles when it runs out. Beam search's reordering moves
    rows in place too (``move_rows``), so a buffer that has been reordered must not be read
    through an older ``KeyValueBuffer`` of it.

    Attributes:
        buffer: (2, batch, heads, capacity, head_dim), keys then values; None before the
            first position.
        length: positions stored.
    """

    buffer: Tensor | None = None
    length: int = 0

    @property
    def key(self) -> Tensor:
        """The stored keys, a (batch, heads, length, head_dim) view."""
        return self.buffer[0, :, :, : self.length]

    @property
    def value(self) -> Tensor:
        """The stored values, a (batch, heads, length, head_dim) view."""
        return self.buffer[1, :, :, : self.length]

    def append(self, new: KeyValue) -> KeyValueBuffer:
        """Write ``new`` (batch, heads, steps, head_dim) after the stored positions."""
        end = self.length + new.key.size(2)
        buffer = self.buffer
        if buffer is None or end > buffer.size(3):
            batch, heads, _, head_dim = new.key.shape
            capacity = max(2 * end, _MIN_CAPACITY)
            buffer = new.key.new_empty(2, batch, heads, capacity, head_dim)
            if self.length:
                buffer[:, :, :, : self.length] = self.buffer[:, :, :, : self.length]
        buffer[0, :, :, self.length : end] = new.key
        buffer[1, :, :, self.length : end] = new.value
        return KeyValueBuffer(buffer, end)

    def index_select(self, indices: Tensor) -> KeyValueBuffer:
        """A new buffer with the batch rows ``indices`` (n,), in that order."""
        return KeyValueBuffer(self.buffer.index_select(1, indices), self.length)

    def move_rows(self, targets: Tensor, sources: Tensor) -> None:
        """In place: row ``targets[i]`` becomes a copy of row ``sources[i]`` (both (n,) long)."""
        stored = self.buffer[:, :, :, : self.length]
        stored[:, targets] = stored[:, sources]


_MIN_CAPACITY = 16


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

    Self-attention keys/values grow by one position per step, written in place; cross-attention
    keys/values are projected from the encoder output once, at the first step, and afterwards
    only narrowed when sentences leave the batch.

    Attributes:
        self_attention: one KeyValueBuffer per decoder layer, (batch, heads, steps, head_dim).
        cross_attention: one KeyValue per decoder layer, (sources, heads, src_len, head_dim);
            each source may serve several consecutive decoder rows (its beams).
        memory_mask: (sources, 1, 1, src_len), True at real source tokens; or None.
    """

    self_attention: list[KeyValueBuffer]
    cross_attention: list[KeyValue]
    memory_mask: Tensor | None

    @property
    def length(self) -> int:
        """Target positions decoded so far."""
        return self.self_attention[0].length

    def reorder(self, indices: Tensor) -> DecoderCache:
        """Follow beam search's choices: row i of the result is row ``indices[i]`` of this cache.

        The self-attention keys/values are reordered in place (only the rows that change are
        copied): use the returned cache, not this one, afterwards. The cross-attention
        keys/values hold one row per source sentence while the decoder may hold g rows (beams)
        per source. When the new rows fall into equal consecutive groups, each from one source,
        as in beam search (also when it widens one row per sentence to k beams), they are
        only narrowed to the sources of the groups, and left alone while all survive;
        otherwise they are expanded to one row per decoder row.

        Args:
            indices: (new_batch,) long tensor of rows to keep; repeats and drops are allowed, so
                the same call expands beams, reorders them and removes finished sentences.
        """
        rows = self.self_attention[0].buffer.size(1)
        sources = self.cross_attention[0].key.size(0)
        kept_sources = _sources_of_groups(indices // (rows // sources))
        if len(indices) == rows:  # beam search's reorder: move only the rows that change
            targets = (indices != torch.arange(rows, device=indices.device)).nonzero()[:, 0]
            for kv in self.self_attention:
                kv.move_rows(targets, indices[targets])
            self_attention = self.self_attention
        else:
            self_attention = [kv.index_select(indices) for kv in self.self_attention]
        if torch.equal(kept_sources, torch.arange(sources, device=kept_sources.device)):
            return DecoderCache(self_attention, self.cross_attention, self.memory_mask)
        mask = self.memory_mask
        return DecoderCache(
            self_attention=self_attention,
            cross_attention=[kv.index_select(kept_sources) for kv in self.cross_attention],
            memory_mask=None if mask is None else mask.index_select(0, kept_sources),
        )


def _sources_of_groups(source_of_row: Tensor) -> Tensor:
    """The source of each group of new decoder rows, for rows that come in equal consecutive
    groups from one source each; otherwise ``source_of_row`` itself (groups of one).

    Args:
        source_of_row: (new_rows,) long, the source sentence each new row decodes.
    """
    rows = len(source_of_row)
    groups = source_of_row.unique().numel()
    if rows % groups == 0:
        by_group = source_of_row.view(groups, rows // groups)
        if bool((by_group == by_group[:, :1]).all()):
            return by_group[:, 0]
    return source_of_row
