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
class KeyValueBuffer:
    """Self-attention keys/values of the positions decoded so far, in buffers with room to grow.

    A decoding step writes its new position in place instead of copying the whole cache (as
    ``torch.cat`` would); the capacity doubles when it runs out. Beam search's reordering is
    done in place too (``index_select``), copying only the rows that change, so a buffer that
    has been reordered must not be read through an older ``KeyValueBuffer`` of it.

    Attributes:
        key_buffer: (batch, heads, capacity, head_dim); None before the first position.
        value_buffer: (batch, heads, capacity, head_dim); None before the first position.
        length: positions stored.
    """

    key_buffer: Tensor | None = None
    value_buffer: Tensor | None = None
    length: int = 0

    @property
    def key(self) -> Tensor:
        """The stored keys, a (batch, heads, length, head_dim) view."""
        return self.key_buffer[:, :, : self.length]

    @property
    def value(self) -> Tensor:
        """The stored values, a (batch, heads, length, head_dim) view."""
        return self.value_buffer[:, :, : self.length]

    def append(self, new: KeyValue) -> KeyValueBuffer:
        """Write ``new`` (batch, heads, steps, head_dim) after the stored positions."""
        end = self.length + new.key.size(2)
        keys, values = self.key_buffer, self.value_buffer
        if keys is None or end > keys.size(2):
            keys = _grown(keys, like=new.key, length=self.length, needed=end)
            values = _grown(values, like=new.value, length=self.length, needed=end)
        keys[:, :, self.length : end] = new.key
        values[:, :, self.length : end] = new.value
        return KeyValueBuffer(keys, values, end)

    def index_select(self, indices: Tensor) -> KeyValueBuffer:
        """Keep the batch rows ``indices`` (n,), in that order.

        With as many rows as before (beam search's reorder) the rows move in place and only
        those with ``indices[i] != i`` are copied; otherwise new buffers are gathered.
        """
        if len(indices) != self.key_buffer.size(0):
            return KeyValueBuffer(
                self.key_buffer.index_select(0, indices),
                self.value_buffer.index_select(0, indices),
                self.length,
            )
        moved = (indices != torch.arange(len(indices), device=indices.device)).nonzero()[:, 0]
        if len(moved):
            for buffer in (self.key_buffer, self.value_buffer):
                stored = buffer[:, :, : self.length]
                stored[moved] = stored[indices[moved]]
        return self


_MIN_CAPACITY = 16


def _grown(old: Tensor | None, *, like: Tensor, length: int, needed: int) -> Tensor:
    """A buffer shaped like ``like`` with room for 2 * ``needed`` positions (at least
    ``_MIN_CAPACITY``), holding the first ``length`` positions of ``old``."""
    batch, heads, _, head_dim = like.shape
    buffer = like.new_empty(batch, heads, max(2 * needed, _MIN_CAPACITY), head_dim)
    if length:
        buffer[:, :, :length] = old[:, :, :length]
    return buffer


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
        per source. When every new group of g rows comes from one source, as in beam search,
        they are only narrowed to the surviving sources, and left alone while all survive;
        otherwise they are expanded to one row per decoder row.

        Args:
            indices: (new_batch,) long tensor of rows to keep; repeats and drops are allowed, so
                the same call expands beams, reorders them and removes finished sentences.
        """
        rows = self.self_attention[0].key_buffer.size(0)
        sources = self.cross_attention[0].key.size(0)
        group = rows // sources
        source_of_row = indices // group
        by_group = source_of_row.view(-1, group) if len(indices) % group == 0 else None
        if by_group is not None and bool((by_group == by_group[:, :1]).all()):
            kept_sources = by_group[:, 0]
        else:
            kept_sources = source_of_row
        self_attention = [kv.index_select(indices) for kv in self.self_attention]
        if torch.equal(kept_sources, torch.arange(sources, device=kept_sources.device)):
            return DecoderCache(self_attention, self.cross_attention, self.memory_mask)
        mask = self.memory_mask
        return DecoderCache(
            self_attention=self_attention,
            cross_attention=[kv.index_select(kept_sources) for kv in self.cross_attention],
            memory_mask=None if mask is None else mask.index_select(0, kept_sources),
        )
