"""Token batches: the budget holds, each example once, ranks disjoint, seeded order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from seq2seq.common.special import BOS_ID, EOS_ID, PAD_ID
from seq2seq.data.batching import TokenBatchSampler, TranslationDataset, collate, collate_joined
from seq2seq.data.indexed import IndexedDataset, IndexedWriter
from seq2seq.data.prepare import ParallelSplit

LENGTHS = np.random.default_rng(0).integers(1, 60, size=1000)


def sampler(**options) -> TokenBatchSampler:
    defaults = {"max_tokens": 256, "shuffle": True, "seed": 3}
    return TokenBatchSampler(LENGTHS, **(defaults | options))


def test_every_batch_fits_max_tokens_padding_included() -> None:
    for batch in sampler():
        assert len(batch) * LENGTHS[batch].max() <= 256


def test_every_example_exactly_once_per_epoch() -> None:
    seen = [i for batch in sampler() for i in batch]
    assert sorted(seen) == list(range(len(LENGTHS)))


def test_batches_group_similar_lengths() -> None:
    spreads = [LENGTHS[b].max() - LENGTHS[b].min() for b in sampler() if len(b) > 1]
    assert np.mean(spreads) <= 2


def test_same_seed_same_order_and_other_epoch_or_seed_another() -> None:
    first = list(sampler())
    assert list(sampler()) == first
    assert list(sampler(epoch=1)) != first
    assert list(sampler(seed=4)) != first


def test_without_shuffle_the_order_is_by_length() -> None:
    batches = list(sampler(shuffle=False))
    firsts = [LENGTHS[b[0]] for b in batches]
    assert firsts == sorted(firsts)


@pytest.mark.parametrize("world_size", [2, 3])
def test_ranks_get_disjoint_equal_shares_that_cover_everything(world_size: int) -> None:
    shares = [list(sampler(rank=r, world_size=world_size)) for r in range(world_size)]
    assert len({len(share) for share in shares}) == 1  # DDP needs equal step counts
    examples = [set(i for batch in share for i in batch) for share in shares]
    for a in range(world_size):
        for b in range(a + 1, world_size):
            assert not examples[a] & examples[b]
    assert sorted(i for share in shares for batch in share for i in batch) == list(range(1000))
    for share in shares:
        for batch in share:
            assert len(batch) * LENGTHS[batch].max() <= 256


def test_an_example_longer_than_the_budget_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="has 300 tokens, more than max_tokens=256"):
        TokenBatchSampler(np.array([10, 300]), max_tokens=256, shuffle=False, seed=0)


def test_collate_adds_eos_bos_and_pads_right() -> None:
    batch = collate(
        [
            (7, np.array([5, 6], dtype=np.uint16), np.array([9], dtype=np.uint16)),
            (2, np.array([5], dtype=np.uint16), np.array([9, 10, 11], dtype=np.uint16)),
        ]
    )
    assert batch.src.tolist() == [[5, 6, 3], [5, 3, 0]]
    assert batch.prev_output.tolist() == [[2, 9, 0, 0], [2, 9, 10, 11]]
    assert batch.target.tolist() == [[9, 3, 0, 0], [9, 10, 11, 3]]
    assert batch.indices.tolist() == [7, 2]
    assert batch.target_tokens == 6
    assert batch.src.dtype == torch.long


def parallel_split(tmp_path: Path, src: list[list[int]], tgt: list[list[int]]) -> ParallelSplit:
    sides = []
    for name, sequences in (("src", src), ("tgt", tgt)):
        with IndexedWriter(tmp_path / name, np.dtype(np.uint16)) as writer:
            writer.add_many(sequences)
        sides.append(IndexedDataset(tmp_path / name, np.dtype(np.uint16)))
    return ParallelSplit(*sides)


SRC, TGT = [[5, 6, 7], [8]], [[9, 10], [11, 12, 13, 14]]


def test_sides_hold_every_sentence_of_both_sides_as_a_target(tmp_path: Path) -> None:
    dataset = TranslationDataset(parallel_split(tmp_path, SRC, TGT), max_positions=64,
                                 layout="sides")  # fmt: skip
    assert len(dataset) == 4
    assert [dataset[i][2].tolist() for i in range(4)] == [*SRC, *TGT]
    assert all(dataset[i][1].size == 0 for i in range(4))
    assert dataset.lengths().tolist() == [4, 2, 3, 5]  # each with eos


def test_joined_sequences_fit_the_positions_and_count_both_sides(tmp_path: Path) -> None:
    split = parallel_split(tmp_path, [[4] * 20, [5]], [[6] * 30, [7, 8]])
    dataset = TranslationDataset(split, max_positions=16, layout="joined")
    assert dataset.lengths().tolist() == [16, 6]  # bos src eos bos tgt: capped, and 1 + 2 + 3
    batch = collate_joined([dataset[0], dataset[1]])
    assert batch.prev_output.size(1) <= 16
    assert batch.prev_output[1].tolist()[:6] == [BOS_ID, 5, EOS_ID, BOS_ID, 7, 8]
    assert batch.target[1].tolist()[:6] == [PAD_ID, PAD_ID, PAD_ID, 7, 8, EOS_ID]


def test_an_unknown_layout_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="layout must be one of"):
        TranslationDataset(parallel_split(tmp_path, SRC, TGT), max_positions=8, layout="both")
