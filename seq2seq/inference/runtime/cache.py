"""Incremental decoding for search: the decoder's keys/values kept between steps, beams
sharing their prefix.

Search (greedy, sampling, beam) decodes one token per row and step. ``DecoderCache`` holds
what the decoder needs from earlier steps and runs ``Decoder.step`` on it:

    cache = DecoderCache.begin(model.decoder, model.start_decoding(src_tokens), reserve=steps)
    logits, cache = cache.step(last_tokens)   # (rows, 1) -> (rows, tgt_vocab)
    cache = cache.reorder(beam_indices)       # rows follow search's choices

A decoder-only model has no source: its cache starts empty, one row per sequence, and its
prompts (bos first) go in all at once:

    cache = DecoderCache.without_memory(model.decoder, rows=n, reserve=steps)
    logits, cache = cache.extend(prompt_tokens)   # (rows, len) -> (rows, len, vocab)

Prompts of different lengths are left-padded, so that every row's next token goes in at the
same step: ``pads`` says how many entries of each row are padding, which no position attends
to and which positions do not count (a row's first real token is at position 0).

The rows of a source sentence (its beams) go through the decoder as one sequence whose new
positions are the beams' newest tokens, all at the same target position: they share the
sentence's cross-attention keys/values and the self-attention entries of their common
prefix, each seeing only its own path (docs/benchmarks.md, "Beams share their prefix").
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn

from seq2seq.model import Decoder, DecodingStart, KeyValue
from seq2seq.model.attention import causal_mask

FIRST_CAPACITY = 16  # entries per group in a buffer's first allocation, unless reserved
# Entries that no live beam's path holds are dropped once they are this share of the stored
# ones: every step attends over all of them (masked), and beam search leaves many behind, as
# beams die and others take their place. 0.2-0.3 decode a trained model fastest
# (docs/benchmarks.md); dropping them costs a copy of the live ones.
DEAD_SHARE = 0.25


@dataclass(frozen=True)
class KeyValueBuffer:
    """Self-attention keys/values of one decoder layer during incremental decoding.

    The decoder's rows come in groups, one group per source sentence: the beams of beam
    search, or a single row in greedy search and sampling. A group's rows share one buffer of
    *entries*: each step appends one entry per row of the group, and a row attends only to
    the entries on its own path (``DecoderCache.paths``). Beams that descend from one
    hypothesis share the keys/values of their common prefix, so beam search never copies a
    beam's history when it reorders its beams; entries that no beam holds any more are
    dropped from time to time (``DEAD_SHARE``). Entries are written in place into a buffer
    whose capacity doubles when it runs out (``torch.cat`` would copy everything each step).

    Attributes:
        buffer: (2, groups, heads, capacity, head_dim), keys then values; None before the
            first step.
        length: entries stored per group.
        reserve: the capacity of the first buffer, in entries per group (a search that knows
            how many it will store makes room for all of them at once).
    """

    buffer: Tensor | None = None
    length: int = 0
    reserve: int = FIRST_CAPACITY

    @property
    def key(self) -> Tensor:
        """The stored keys, a (groups, heads, length, head_dim) view."""
        return self.buffer[0, :, :, : self.length]

    @property
    def value(self) -> Tensor:
        """The stored values, a (groups, heads, length, head_dim) view."""
        return self.buffer[1, :, :, : self.length]

    def append(self, new: KeyValue) -> KeyValueBuffer:
        """Write ``new`` (groups, heads, entries, head_dim) after the stored entries."""
        grown = self.grown(new.key, new.key.size(2))
        grown.buffer[0, :, :, self.length : grown.length] = new.key
        grown.buffer[1, :, :, self.length : grown.length] = new.value
        return grown

    def grown(self, like: Tensor, entries: int) -> KeyValueBuffer:
        """The stored entries and room for ``entries`` more after them, counted as stored:
        the caller writes them (``append``, or a native layer).

        Args:
            like: (groups, heads, any, head_dim), the shape, dtype and device of a buffer
                made anew (the first time, or when the capacity runs out).
        """
        end = self.length + entries
        buffer = self.buffer
        if buffer is None or end > buffer.size(3):
            groups, heads, _, head_dim = like.shape
            capacity = max(2 * end, self.reserve if buffer is None else 0)
            buffer = like.new_empty(2, groups, heads, capacity, head_dim)
            if self.length:
                buffer[:, :, :, : self.length] = self.buffer[:, :, :, : self.length]
        return KeyValueBuffer(buffer, end)

    def select(self, groups: Tensor, entries: Tensor) -> KeyValueBuffer:
        """A buffer of the same capacity whose group i holds the stored entries
        ``entries[i]`` of group ``groups[i]``, in that order, written over this buffer's
        memory where it has room: this buffer is spent, as search never goes back to a cache
        it has reordered or stepped from. A new buffer's pages would each cost the kernel a
        fault and zeroing at first touch.

        Args:
            groups: (n,) long, the group each new group is taken from.
            entries: (n, kept) long, stored entries of that group.
        """
        _, _, heads, capacity, head_dim = self.buffer.shape
        n, kept = entries.shape
        first = groups[:, None] * heads + torch.arange(heads, device=groups.device)
        rows = (first[:, :, None] * capacity + entries[:, None, :]).view(-1)
        selected = self.buffer.view(2, -1, head_dim).index_select(1, rows)
        size, memory = 2 * n * heads * capacity * head_dim, self.buffer.view(-1)
        room = memory[:size] if size <= memory.numel() else memory.new_empty(size)
        buffer = room.view(2, n, heads, capacity, head_dim)
        buffer[:, :, :, :kept] = selected.view(2, n, heads, kept, head_dim)
        return KeyValueBuffer(buffer, kept)


@dataclass(frozen=True)
class DecoderCache:
    """State of auto-regressive decoding (Section 3: "consuming the previously generated symbols").

    The decoder's rows come in groups of equal width, one group per source sentence (the
    beams of beam search). Self-attention keys/values are stored per group, one entry per row
    and step, and each row's path names the entries of its own prefix, so reordering beams
    only reorders the paths. Cross-attention keys/values are projected from the encoder output
    once, at the first step, and afterwards only narrowed when sentences leave the batch.

    Attributes:
        decoder: the model's decoder, which ``step`` runs.
        self_attention: one KeyValueBuffer per decoder layer, (groups, heads, entries, head_dim).
        cross_attention: one KeyValue per decoder layer, (groups, heads, src_len, head_dim);
            None for a decoder-only model.
        memory_mask: (groups, 1, 1, src_len), True at real source tokens; or None.
        groups: source sentences (or sequences of a decoder-only model), each served by
            ``rows // groups`` consecutive decoder rows.
        paths: (rows, length) long: for each row and target position so far, the entry of the
            row's group that holds that position of the row's prefix; None while every group
            is one row (greedy search, sampling), whose path is all of its group's entries.
        pads: (groups,) long, the leading entries of each group that are padding (a
            decoder-only model's left-padded prompts); None when there are none.
        project: the vocabulary projection of ``Decoder.step``: None for the whole
            vocabulary, some of its rows for a search over those tokens (a shortlist).
    """

    decoder: Decoder
    self_attention: list[KeyValueBuffer]
    cross_attention: list[KeyValue] | None
    memory_mask: Tensor | None
    groups: int
    paths: Tensor | None = None
    pads: Tensor | None = None
    project: nn.Module | None = None

    @classmethod
    def begin(
        cls, decoder: Decoder, start: DecodingStart, *, reserve: int = FIRST_CAPACITY
    ) -> DecoderCache:
        """The cache before ``start.tokens`` go in (``extend``, or ``step`` for one column),
        for either architecture: one row per source sentence, nothing stored.

        Args:
            start: the model's ``start_decoding``: the cross-attention keys/values (projected
                from the encoder output once) or a decoder-only model's padded prompts.
            reserve: room for this many self-attention entries per source sentence, one per
                row and step (beam search: 1 + beam_size * max_len); the buffers grow, by
                copying, only past it.
        """
        empty = [KeyValueBuffer(reserve=reserve) for _ in decoder.layers]
        return cls(
            decoder, empty, start.cross, start.memory_mask, groups=start.tokens.size(0),
            pads=start.pads,
        )  # fmt: skip

    @classmethod
    def without_memory(
        cls,
        decoder: Decoder,
        *,
        rows: int,
        reserve: int = FIRST_CAPACITY,
        pads: Tensor | None = None,
    ) -> DecoderCache:
        """The cache of a decoder-only model before its first tokens: ``rows`` sequences,
        nothing stored; ``reserve`` as in ``start``; ``pads`` (rows,) long, the padding that
        the first ``extend`` puts in front of each row's prompt."""
        empty = [KeyValueBuffer(reserve=reserve) for _ in decoder.layers]
        return cls(decoder, empty, None, None, groups=rows, pads=pads)

    def extend(self, tokens: Tensor) -> tuple[Tensor, DecoderCache]:
        """Decode several consecutive tokens of every row at once (a prompt), each seeing
        the stored positions and the new ones before it; only while every group is one row.

        Args:
            tokens: (rows, new) long, the next tokens of each row; left-padded as ``pads``
                says (a padding position attends only to itself, so that it stays finite).

        Returns:
            logits (rows, new, vocab), the next token's after each, and the cache grown by
            ``new`` positions.
        """
        if self.paths is not None:
            raise ValueError("extend needs one row per group; step decodes beams")
        new, start = tokens.size(1), self.length
        entries = torch.arange(start + new, device=tokens.device)
        allowed = causal_mask(start + new, device=tokens.device)[start:][None, None]
        positions = entries[start:]
        if self.pads is not None:
            itself = entries[None, :] == entries[start:, None]  # (new, start + new)
            allowed = allowed & (self._real_entries(start + new) | itself)
            positions = (positions - self.pads[:, None]).clamp(min=0)
        logits, past = self.decoder.step(
            tokens, self.cross_attention, self.self_attention,
            positions=positions, memory_mask=self.memory_mask, self_mask=allowed,
            project=self.project,
        )  # fmt: skip
        return logits, replace(self, self_attention=past)

    def _real_entries(self, entries: int) -> Tensor:
        """(groups, 1, 1, entries) bool: True at the entries that are not padding."""
        index = torch.arange(entries, device=self.pads.device)
        return (index[None, :] >= self.pads[:, None])[:, None, None, :]

    def step(self, last_tokens: Tensor) -> tuple[Tensor, DecoderCache]:
        """Decode the newest token of every row after the stored ones.

        Args:
            last_tokens: (rows, 1) long, the newest target token of each row (bos first).

        Returns:
            logits (rows, tgt_vocab) for the next token and the cache grown by one position.
        """
        paths, self_mask = self.next_paths()
        grouped = last_tokens.view(self.groups, -1)  # (groups, width): a group's rows
        positions = last_tokens.new_full((grouped.size(1),), self.length)
        if self.pads is not None:
            real = self._real_entries(self.self_attention[0].length + grouped.size(1))
            self_mask = real if self_mask is None else self_mask & real
            positions = positions[None, :] - self.pads[:, None]
        logits, past = self.decoder.step(
            grouped, self.cross_attention, self.self_attention,
            positions=positions, memory_mask=self.memory_mask, self_mask=self_mask,
            project=self.project,
        )  # fmt: skip
        return logits.view(last_tokens.size(0), -1), replace(self, self_attention=past, paths=paths)

    @property
    def length(self) -> int:
        """Target positions decoded so far."""
        return self.self_attention[0].length if self.paths is None else self.paths.size(1)

    @property
    def rows(self) -> int:
        """Decoder rows: ``groups`` times the rows per group."""
        return self.groups if self.paths is None else self.paths.size(0)

    def next_paths(self) -> tuple[Tensor | None, Tensor | None]:
        """The paths after the coming step, which stores one new entry per row, and the mask
        of what each row may attend to in that step.

        Returns:
            paths (rows, length + 1) and the self-attention mask (groups, 1, width, entries)
            bool, True on the row's own path; both None while every group is one row (its
            path is all of its group's entries). Paths exist only once a group has held
            several rows, whose entries then outnumber the positions: a mask is needed.
        """
        if self.paths is None:
            return None, None
        rows, stored = self.paths.size(0), self.self_attention[0].length
        width = rows // self.groups
        new = stored + torch.arange(rows, device=self.paths.device) % width
        paths = torch.cat([self.paths, new[:, None]], 1)
        entries = stored + width
        mask = self.paths.new_zeros(rows, entries, dtype=torch.bool).scatter_(1, paths, True)
        return paths, mask.view(self.groups, 1, width, entries)

    def reorder(self, indices: Tensor) -> DecoderCache:
        """Follow beam search's choices: row i of the result is row ``indices[i]`` of this cache.

        When the new rows fall into equal consecutive groups, each from one source, as in beam
        search (also when it widens one row per sentence to k beams), only the paths are
        gathered, and the stored keys/values are narrowed to the sources of the groups (left
        alone while all survive) and to the entries that some path still holds (once the others
        are ``DEAD_SHARE`` of them). Otherwise every new row becomes a group of its own, with a
        copy of its source's entries.

        Args:
            indices: (new_rows,) long tensor of rows to keep; repeats and drops are allowed, so
                the same call expands beams, reorders them and removes finished sentences.
        """
        if self.groups == 1:  # one sentence: every new row is one of its beams
            kept, same_groups = indices.new_zeros(1), True
        else:
            kept = _sources_of_groups(indices // (self.rows // self.groups))
            same_groups = torch.equal(kept, torch.arange(self.groups, device=kept.device))
        paths = self._reordered_paths(indices, groups=len(kept))
        stored = self.self_attention[0].length
        live = _live_entries(paths, groups=len(kept), stored=stored)
        if live is not None:
            entries, paths = live
        elif not same_groups:
            entries = torch.arange(stored, device=kept.device).expand(len(kept), -1)
        else:
            return replace(self, paths=paths)
        self_attention = [kv.select(kept, entries) for kv in self.self_attention]
        if same_groups:
            return replace(self, self_attention=self_attention, paths=paths)
        cross, mask, pads = self.cross_attention, self.memory_mask, self.pads
        return replace(
            self,
            self_attention=self_attention,
            cross_attention=None if cross is None else [kv.index_select(kept) for kv in cross],
            memory_mask=None if mask is None else mask.index_select(0, kept),
            groups=len(kept),
            paths=paths,
            pads=None if pads is None else pads.index_select(0, kept),
        )

    def _reordered_paths(self, indices: Tensor, *, groups: int) -> Tensor | None:
        """The paths of the rows ``indices`` when they form ``groups`` groups."""
        if self.paths is not None:
            return self.paths.index_select(0, indices)
        if len(indices) == groups:
            return None
        return torch.arange(self.length, device=indices.device).expand(len(indices), -1)


def _live_entries(
    paths: Tensor | None, *, groups: int, stored: int
) -> tuple[Tensor, Tensor] | None:
    """The stored entries that the rows' paths hold, when the others make up ``DEAD_SHARE`` of
    the ``stored`` entries or more; None otherwise (also without paths: all are live).

    Args:
        paths: (rows, length) long, entries of the row's group; the rows form ``groups``
            equal consecutive groups.

    Returns:
        (groups, kept) long: the live entries of each group in their order, padded with dead
        ones where a group has fewer than the most; and ``paths`` renumbered to them.
    """
    if paths is None:
        return None
    by_group = paths.reshape(groups, -1)
    live = paths.new_zeros(groups, stored, dtype=torch.bool).scatter_(1, by_group, True)
    kept = int(live.sum(1).max())
    if stored - kept < DEAD_SHARE * stored:
        return None
    entries = torch.argsort(~live, dim=1, stable=True)[:, :kept]
    renumbered = (live.cumsum(1) - 1).gather(1, by_group)
    return entries, renumbered.view_as(paths)


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
