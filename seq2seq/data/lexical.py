"""IBM Model 1 (Brown et al. 1993): lexical translation probabilities p(target | source) of
token ids, estimated by EM on a parallel corpus, and what lexical shortlists take of them.

Model 1 lets each target token t_j of a pair come from one source token s_i of its sentence
or from NULL (s_0), every choice equally likely a priori:

    p(t_1..t_n | s_1..s_m) = prod_j sum_{i=0..m} p(t_j | s_i) / (m + 1)

EM alternates two steps. E: each target token spreads one count over its sentence's source
tokens, NULL included, in proportion to p(t_j | s_i). M: p(t | s) = count(s, t) / count(s).
The log-likelihood is concave, so EM from the uniform start climbs towards its maximum;
five iterations are the usual number (GIZA++'s). Only the (s, t) pairs that co-occur in some
sentence pair can get a count, so the table holds those alone, as sorted keys
``s * tgt_vocab + t``: never a dense src_vocab x tgt_vocab table.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from seq2seq.common.special import PAD_ID, SPECIAL_IDS

NULL_ID = PAD_ID  # the source id that stands for NULL: pad never occurs within a sentence
LINKS_PER_CHUNK = 1 << 22  # (source position, target position) links the E-step holds at once
KEPT_LINKS = 1 << 27  # links whose table entries are kept between EM iterations (1 GiB)

IdPair = tuple[Sequence[int] | np.ndarray, Sequence[int] | np.ndarray]


@dataclass(frozen=True)
class ParallelIds:
    """A corpus's token ids with the special ids dropped, each side's sentences concatenated.

    Attributes:
        src, tgt: (tokens,) long, the ids of every sentence, one sentence after another.
        src_lengths, tgt_lengths: (pairs,) long, how many ids each sentence kept.
    """

    src: Tensor
    tgt: Tensor
    src_lengths: Tensor
    tgt_lengths: Tensor

    @classmethod
    def collect(cls, pairs: Iterable[IdPair], *, src_vocab: int, tgt_vocab: int) -> ParallelIds:
        """Read (source ids, target ids) pairs, lists or numpy arrays of ints.

        Raises:
            ValueError: an id outside ``0 .. vocab - 1`` of its side.
        """
        sides: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
        for pair in pairs:
            for side, ids in zip(sides, pair, strict=True):
                side.append(np.asarray(ids, dtype=np.int64))
        src, src_lengths = _kept_ids(sides[0], vocab=src_vocab, side="source")
        tgt, tgt_lengths = _kept_ids(sides[1], vocab=tgt_vocab, side="target")
        return cls(src, tgt, src_lengths, tgt_lengths)


def _kept_ids(sentences: list[np.ndarray], *, vocab: int, side: str) -> tuple[Tensor, Tensor]:
    """One side's sentences as (tokens,) ids without the special ids, and (pairs,) lengths."""
    lengths = torch.tensor([len(ids) for ids in sentences], dtype=torch.long)
    flat = torch.from_numpy(np.concatenate(sentences)) if sentences else torch.zeros(0).long()
    if len(flat) and not 0 <= int(flat.min()) <= int(flat.max()) < vocab:
        outside = flat[(flat < 0) | (flat >= vocab)][0]
        raise ValueError(f"{side} id {int(outside)} is outside the vocabulary of {vocab}")
    kept = flat >= SPECIAL_IDS
    sentence = torch.repeat_interleave(torch.arange(len(lengths)), lengths)
    return flat[kept], torch.bincount(sentence[kept], minlength=len(lengths))


@dataclass(frozen=True)
class LexicalTable:
    """p(target | source) of each (source, target) pair of ids that co-occur in a sentence
    pair, sorted by source then target id. Source ``NULL_ID`` is NULL.

    Attributes:
        src, tgt: (entries,) long.
        prob: (entries,) float64; each source id's entries sum to 1.
    """

    src: Tensor
    tgt: Tensor
    prob: Tensor


@dataclass(frozen=True)
class _Links:
    """The links of a chunk of sentence pairs: every (source position, target position) of
    each pair, NULL among the source positions.

    Attributes:
        key: (links,) long, ``source id * tgt_vocab + target id``.
        target: (links,) long, which target token of the chunk the link belongs to.
        targets: how many target tokens the chunk has.
    """

    key: Tensor
    target: Tensor
    targets: int


@dataclass(frozen=True)
class _Entries:
    """``_Links`` with each key replaced by its index in the table: entry and target
    (links,) int32."""

    entry: Tensor
    target: Tensor
    targets: int


def translation_probabilities(
    corpus: ParallelIds, *, tgt_vocab: int, iterations: int = 5
) -> LexicalTable:
    """IBM Model 1's p(target | source) after ``iterations`` EM steps from the uniform start.

    Raises:
        ValueError: ``iterations`` below 1.
    """
    if iterations < 1:
        raise ValueError(f"iterations must be at least 1, got {iterations}")
    keys = _co_occurring(corpus, tgt_vocab)
    src = keys // tgt_vocab
    _, source_entry = torch.unique_consecutive(src, return_inverse=True)
    entries = _TableEntries(corpus, keys, tgt_vocab)
    prob = torch.ones(len(keys), dtype=torch.float64)  # uniform: any constant is
    for _ in range(iterations):
        counts = _expected_counts(prob, entries)
        per_source = torch.zeros_like(prob).index_add_(0, source_entry, counts)
        prob = counts / per_source.index_select(0, source_entry)
    return LexicalTable(src=src, tgt=keys % tgt_vocab, prob=prob)


def _co_occurring(corpus: ParallelIds, tgt_vocab: int) -> Tensor:
    """The keys of the (source, target) pairs that co-occur in some sentence pair: (entries,)
    long, sorted. Each chunk's are merged in once they outnumber those merged so far, so that
    memory stays within a few times the table's size."""
    keys, pending = torch.zeros(0, dtype=torch.long), []
    for links in _chunks(corpus, tgt_vocab):
        pending.append(links.key.unique())
        if sum(map(len, pending)) > len(keys):
            keys, pending = torch.cat([keys, *pending]).unique(), []
    return torch.cat([keys, *pending]).unique()


def _expected_counts(prob: Tensor, chunks: Iterable[_Entries]) -> Tensor:
    """The E-step: each target token's one count spread over its links in proportion to
    ``prob``, (entries,) float64, and summed per entry of the table."""
    counts = torch.zeros_like(prob)
    for chunk in chunks:
        weight = prob.index_select(0, chunk.entry)
        total = torch.zeros(chunk.targets, dtype=prob.dtype).index_add_(0, chunk.target, weight)
        counts.index_add_(0, chunk.entry, weight / total.index_select(0, chunk.target))
    return counts


class _TableEntries:
    """The ``_Entries`` of every chunk, for each EM iteration. Finding a link's entry (a binary
    search in the table) costs more than the E-step itself, so those of the first chunks, up
    to ``KEPT_LINKS`` links, are found once and kept; the others are found at every pass."""

    def __init__(self, corpus: ParallelIds, keys: Tensor, tgt_vocab: int) -> None:
        self.corpus, self.keys, self.tgt_vocab = corpus, keys, tgt_vocab
        self.kept: list[_Entries] = []
        self.room = KEPT_LINKS  # -1 once a chunk did not fit: the kept ones are a prefix

    def __iter__(self) -> Iterator[_Entries]:
        yield from self.kept
        for links in _chunks(self.corpus, self.tgt_vocab, start=len(self.kept)):
            chunk = _Entries(
                entry=torch.searchsorted(self.keys, links.key).int(),
                target=links.target.int(),
                targets=links.targets,
            )
            fits = len(chunk.entry) <= self.room
            self.room = self.room - len(chunk.entry) if fits else -1
            if fits:
                self.kept.append(chunk)
            yield chunk


def _chunks(corpus: ParallelIds, tgt_vocab: int, *, start: int = 0) -> Iterator[_Links]:
    """The links of consecutive sentence pairs, about ``LINKS_PER_CHUNK`` at a time (a pair
    with more links than that is a chunk of its own), from chunk ``start`` on."""
    links = (corpus.src_lengths + 1) * corpus.tgt_lengths
    before = torch.cumsum(links, 0) - links
    _, sizes = torch.unique_consecutive(before // LINKS_PER_CHUNK, return_counts=True)
    ends = torch.cumsum(sizes, 0).tolist()
    starts = [0, *ends[:-1]]
    src_start = torch.cumsum(corpus.src_lengths, 0) - corpus.src_lengths
    tgt_start = torch.cumsum(corpus.tgt_lengths, 0) - corpus.tgt_lengths
    for first, end in zip(starts[start:], ends[start:], strict=True):
        pairs = slice(first, end)
        yield _links(corpus, src_start[pairs], tgt_start[pairs], pairs, tgt_vocab)


def _links(
    corpus: ParallelIds, src_start: Tensor, tgt_start: Tensor, pairs: slice, tgt_vocab: int
) -> _Links:
    """Every (source position, target position) link of the sentence pairs ``pairs``, whose
    sentences begin at ``src_start`` and ``tgt_start``, (pairs,) each."""
    src_lengths, tgt_lengths = corpus.src_lengths[pairs], corpus.tgt_lengths[pairs]
    tgt_begin = int(tgt_start[0])
    targets = corpus.tgt[tgt_begin : tgt_begin + int(tgt_lengths.sum())]  # (targets,)
    pair_of_target = torch.repeat_interleave(torch.arange(len(tgt_lengths)), tgt_lengths)
    per_target = (src_lengths + 1)[pair_of_target]  # the sentence's sources and NULL
    target = torch.repeat_interleave(torch.arange(len(targets)), per_target)  # (links,)
    position = torch.arange(len(target)) - (torch.cumsum(per_target, 0) - per_target)[target]
    source = torch.full_like(position, NULL_ID)  # at position 0
    word = position > 0
    source[word] = corpus.src[src_start[pair_of_target[target[word]]] + position[word] - 1]
    return _Links(key=source * tgt_vocab + targets[target], target=target, targets=len(targets))


def best_targets(table: LexicalTable, *, src_vocab: int, k: int) -> Tensor:
    """Per source id, its ``k`` target ids of highest p(target | source), best first and ties
    by id, -1 where it co-occurred with fewer; special ids (NULL too) get no list.

    Returns:
        (src_vocab, k) long.
    """
    by_prob = torch.argsort(-table.prob, stable=True)  # the table is sorted by (src, tgt)
    order = by_prob[torch.argsort(table.src[by_prob], stable=True)]
    src, tgt = table.src[order], table.tgt[order]
    _, count = torch.unique_consecutive(src, return_counts=True)
    rank = torch.arange(len(src)) - torch.repeat_interleave(torch.cumsum(count, 0) - count, count)
    kept = (rank < k) & (src >= SPECIAL_IDS)
    lists = torch.full((src_vocab, k), -1, dtype=torch.long)
    lists[src[kept], rank[kept]] = tgt[kept]
    return lists


def most_frequent(ids: Tensor, n: int, *, vocab: int) -> Tensor:
    """The ``n`` ids most frequent in ``ids`` (any shape), most frequent first and ties by id;
    fewer when fewer occur.

    Returns:
        (min(n, distinct ids),) long.
    """
    counts = torch.bincount(ids.reshape(-1), minlength=vocab)
    order = torch.argsort(-counts, stable=True)
    return order[counts[order] > 0][:n]
