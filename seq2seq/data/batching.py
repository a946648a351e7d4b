"""Token-budget batches: length-bucketed, seeded shuffle, disjoint per data-parallel rank."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset, Sampler

from seq2seq.common.special import BOS_ID, EOS_ID, PAD_ID
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


class TranslationDataset(Dataset):
    """Examples of a ParallelSplit with eos (and bos) added, cut to ``max_positions``.

    ``limit`` keeps only the first examples (a cheaper validation on a large dev set).
    ``target_only``: batches are sized by the target side alone (a language model's data).
    """

    def __init__(
        self,
        split: ParallelSplit,
        *,
        max_positions: int,
        limit: int | None = None,
        target_only: bool = False,
    ) -> None:
        self.split = split
        self.max_positions = max_positions
        self.size = len(split) if limit is None else min(limit, len(split))
        self.target_only = target_only

    def __len__(self) -> int:
        return self.size

    def lengths(self) -> np.ndarray:
        """(n,) the longer of source + eos and target + eos (the target's alone with
        ``target_only``), capped at max_positions."""
        tgt = self.split.tgt.lengths[: self.size]
        longer = tgt if self.target_only else np.maximum(self.split.src.lengths[: self.size], tgt)
        return np.minimum(longer + 1, self.max_positions)

    def __getitem__(self, index: int) -> tuple[int, np.ndarray, np.ndarray]:
        keep = self.max_positions - 1
        return index, self.split.src[index][:keep], self.split.tgt[index][:keep]


def _ids(array: np.ndarray) -> Tensor:
    return torch.from_numpy(array.astype(np.int64))


def collate(examples: list[tuple[int, np.ndarray, np.ndarray]]) -> Batch:
    """Pad a list of (index, source ids, target ids) into a Batch."""
    src = torch.full((len(examples), max(len(s) for _, s, _ in examples) + 1), PAD_ID)
    for row, (_, src_ids, _) in enumerate(examples):
        src[row, : len(src_ids)] = _ids(src_ids)
        src[row, len(src_ids)] = EOS_ID
    return collate_target(examples, src=src)


def collate_target(
    examples: list[tuple[int, np.ndarray, np.ndarray]], *, src: Tensor | None = None
) -> Batch:
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
