"""Token-budget batches: length-bucketed, seeded shuffle, disjoint per data-parallel rank."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset, Sampler

from seq2seq.common.special import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    joined_side_limit,
    source_prompt,
)
from seq2seq.data.prepare import ParallelSplit


def make_batches(lengths: np.ndarray, *, max_tokens: int, order: np.ndarray) -> list[np.ndarray]:
    """Cut ``order`` (indices sorted by length) into batches of at most ``max_tokens``.

    A batch of n examples whose longest is L costs n * L tokens, padding included.

    Raises:
        ValueError: one example alone exceeds ``max_tokens``.
    """
    batches, start, longest = [], 0, 0
    for position, index in enumerate(order):
        length = int(lengths[index])
        if length > max_tokens:
            raise ValueError(
                f"example {index} has {length} tokens, more than max_tokens={max_tokens}; "
                "raise max_tokens or lower the max_tokens length filter"
            )
        longest = max(longest, length)
        if (position - start + 1) * longest > max_tokens:
            batches.append(order[start:position])
            start, longest = position, length
    if start < len(order):
        batches.append(order[start:])
    return batches


def split_until_divisible(batches: list[np.ndarray], parts: int) -> list[np.ndarray]:
    """Halve the largest batches until their number is a multiple of ``parts``.

    Every rank then gets the same number of batches (DDP needs equal step counts) while every
    example is still used exactly once.
    """
    batches = list(batches)
    while len(batches) % parts:
        largest = max(range(len(batches)), key=lambda i: len(batches[i]))
        if len(batches[largest]) < 2:
            raise ValueError(f"too few examples to give each of {parts} ranks a batch")
        batch = batches.pop(largest)
        middle = len(batch) // 2
        batches[largest:largest] = [batch[:middle], batch[middle:]]
    return batches


class TokenBatchSampler(Sampler[list[int]]):
    """Batches of example indices for one epoch and one rank.

    Examples are shuffled (seed and epoch), stably sorted by length so that similar lengths
    share a batch, cut into batches of at most ``max_tokens`` (padding included), and the
    batches are shuffled again. Rank r of w takes batches r, r + w, r + 2w, ... A resumed run
    passes ``skip``, the number of this epoch's batches it already trained on.
    """

    def __init__(
        self,
        lengths: np.ndarray,
        *,
        max_tokens: int,
        shuffle: bool,
        seed: int,
        epoch: int = 0,
        rank: int = 0,
        world_size: int = 1,
        skip: int = 0,
    ) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, {world_size})")
        rng = np.random.default_rng([seed, epoch])
        order = rng.permutation(len(lengths)) if shuffle else np.arange(len(lengths))
        order = order[np.argsort(lengths[order], kind="stable")]
        batches = make_batches(lengths, max_tokens=max_tokens, order=order)
        if world_size > 1:
            batches = split_until_divisible(batches, world_size)
        if shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        self.batches = batches[rank::world_size][skip:]

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.batches:
            yield batch.tolist()

    def __len__(self) -> int:
        return len(self.batches)


@dataclass
class Batch:
    """A padded batch for teacher forcing.

    Attributes:
        src: (batch, src_len) source ids + eos, right-padded.
        prev_output: (batch, tgt_len) bos + target ids, right-padded.
        target: (batch, tgt_len) target ids + eos, right-padded.
        indices: (batch,) example indices in the split, to restore the order of outputs.
    """

    src: Tensor
    prev_output: Tensor
    target: Tensor
    indices: Tensor

    @property
    def target_tokens(self) -> int:
        return int(self.target.ne(PAD_ID).sum())


LAYOUTS = ("pairs", "target", "sides", "joined")
"""How a model reads the pairs: an encoder-decoder source and target ("pairs"); a language
model the target side ("target"), or each side as a sentence of its own ("sides"); a
decoder-only translation model each pair as one sequence, prompt then target ("joined",
``seq2seq.common.special.source_prompt``)."""

Layout = Literal["pairs", "target", "sides", "joined"]


def pair_tokens(layout: Layout, src: np.ndarray | int, tgt: np.ndarray | int) -> np.ndarray | int:
    """The tokens a pair of ``src`` and ``tgt`` tokens (without eos) takes in a batch of
    ``layout`` "pairs" (its longer side, eos or bos included) or "joined" (the prompt and
    the target)."""
    return src + tgt + 3 if layout == "joined" else np.maximum(src, tgt) + 1


class TranslationDataset(Dataset):
    """Examples of a ParallelSplit in a ``layout`` (``LAYOUTS``), cut to ``max_positions``.

    An example is (index, source ids, target ids), without eos or bos; "sides" has an example
    per sentence, the sources first, each as a target with no source. ``limit`` keeps only
    the first pairs (a cheaper validation on a large dev set).
    """

    def __init__(
        self,
        split: ParallelSplit,
        *,
        max_positions: int,
        limit: int | None = None,
        layout: Layout = "pairs",
    ) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        self.split = split
        self.max_positions = max_positions
        self.size = len(split) if limit is None else min(limit, len(split))
        self.layout = layout
        joined = layout == "joined"
        self.keep = joined_side_limit(max_positions) if joined else max_positions - 1

    def __len__(self) -> int:
        return 2 * self.size if self.layout == "sides" else self.size

    def lengths(self) -> np.ndarray:
        """(len(self),) the tokens of each example's longest sequence in a batch, eos and
        bos included, capped at max_positions."""
        src, tgt = self.split.src.lengths[: self.size], self.split.tgt.lengths[: self.size]
        longest = {
            "pairs": lambda: pair_tokens("pairs", src, tgt),
            "target": lambda: tgt + 1,
            "sides": lambda: np.concatenate([src, tgt]) + 1,
            "joined": lambda: pair_tokens("joined", src, tgt),
        }[self.layout]()
        return np.minimum(longest, self.max_positions)

    def __getitem__(self, index: int) -> tuple[int, np.ndarray, np.ndarray]:
        if self.layout == "sides":
            side, row = divmod(index, self.size)
            text = (self.split.src, self.split.tgt)[side][row]
            return index, text[:0], text[: self.keep]
        return index, self.split.src[index][: self.keep], self.split.tgt[index][: self.keep]


def _ids(array: np.ndarray) -> Tensor:
    return torch.from_numpy(array.astype(np.int64))


Example = tuple[int, np.ndarray, np.ndarray]


def collate(examples: list[Example]) -> Batch:
    """Pad a list of (index, source ids, target ids) into a Batch."""
    return collate_target(examples, src=_sources(examples))


def _sources(examples: list[Example]) -> Tensor:
    """(batch, src_len) source ids + eos, right-padded."""
    src = torch.full((len(examples), max(len(s) for _, s, _ in examples) + 1), PAD_ID)
    for row, (_, src_ids, _) in enumerate(examples):
        src[row, : len(src_ids)] = _ids(src_ids)
        src[row, len(src_ids)] = EOS_ID
    return src


def collate_joined(examples: list[Example]) -> Batch:
    """A decoder-only translation model's Batch: ``prev_output`` is each pair as one sequence,
    ``source_prompt`` then the target ids; ``target`` holds the target ids and eos where they
    are predicted and padding under the prompt (no loss there); ``src`` is as in ``collate``,
    for decoding."""
    sequences = [source_prompt([*src.tolist(), EOS_ID]) + tgt.tolist() for _, src, tgt in examples]
    width = max(map(len, sequences))
    prev = torch.full((len(examples), width), PAD_ID, dtype=torch.long)
    target = torch.full_like(prev, PAD_ID)
    for row, ((_, _, tgt_ids), sequence) in enumerate(zip(examples, sequences, strict=True)):
        prev[row, : len(sequence)] = torch.tensor(sequence)
        first = len(sequence) - len(tgt_ids) - 1  # the bos after the source predicts tgt_ids[0]
        target[row, first : len(sequence) - 1] = _ids(tgt_ids)
        target[row, len(sequence) - 1] = EOS_ID
    indices = torch.tensor([index for index, _, _ in examples], dtype=torch.long)
    return Batch(_sources(examples), prev, target, indices)


def collate_function(layout: Layout) -> Callable[[list[Example]], Batch]:
    """The collate function of a ``layout``."""
    return {"pairs": collate, "joined": collate_joined}.get(layout, collate_target)


def collate_target(examples: list[Example], *, src: Tensor | None = None) -> Batch:
    """Pad the targets of (index, source ids, target ids) into a Batch whose source is
    ``src`` or, by default, empty (batch, 0): a language model's batch."""
    size = len(examples)
    tgt_len = max(len(tgt) for _, _, tgt in examples) + 1
    prev = torch.full((size, tgt_len), PAD_ID, dtype=torch.long)
    target = torch.full((size, tgt_len), PAD_ID, dtype=torch.long)
    for row, (_, _, tgt_ids) in enumerate(examples):
        prev[row, 0] = BOS_ID
        prev[row, 1 : len(tgt_ids) + 1] = _ids(tgt_ids)
        target[row, : len(tgt_ids)] = _ids(tgt_ids)
        target[row, len(tgt_ids)] = EOS_ID
    indices = torch.tensor([index for index, _, _ in examples], dtype=torch.long)
    if src is None:
        src = torch.zeros((size, 0), dtype=torch.long)
    return Batch(src, prev, target, indices)
