"""IBM Model 1 by EM over token ids, and the lexical shortlists built from it."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest
import torch

import seq2seq.data.lexical as lexical
from seq2seq.common.special import EOS_ID, SPECIAL_IDS, UNK_ID
from seq2seq.data.lexical import ParallelIds, translation_probabilities
from seq2seq.modeldir.shortlist import build_shortlist

SRC_VOCAB, TGT_VOCAB = 40, 50
WORDS = range(SPECIAL_IDS, 24)  # source ids 24 .. 39 never occur
MEANING = {word: word + 20 for word in WORDS}  # source id -> its one translation


def corpus(count: int = 400, *, seed: int = 0) -> list[tuple[list[int], np.ndarray]]:
    """Sentences of 2-6 source words, each translated by its meaning in shuffled order, with
    one noise word on the target side, unk here and there and eos at the end of both."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        words = rng.choices(WORDS, k=rng.randint(2, 6))
        target = [MEANING[word] for word in words] + [rng.randrange(SPECIAL_IDS, TGT_VOCAB)]
        rng.shuffle(target)
        unk = [UNK_ID] if rng.random() < 0.2 else []
        pairs.append(([*words, *unk, EOS_ID], np.array([*target, EOS_ID], dtype=np.uint16)))
    return pairs


def build(pairs, **options):
    options = {"k": 5, "frequent": 8, "iterations": 5} | options
    corpus = ParallelIds.collect(pairs, src_vocab=SRC_VOCAB, tgt_vocab=TGT_VOCAB)
    return build_shortlist(corpus, src_vocab=SRC_VOCAB, tgt_vocab=TGT_VOCAB, **options)


def test_each_words_list_begins_with_its_translation() -> None:
    shortlist = build(corpus())
    assert shortlist.lists.shape == (SRC_VOCAB, 5)
    assert shortlist.lists[list(WORDS), 0].tolist() == list(MEANING.values())


def test_probabilities_sum_to_one_per_source() -> None:
    ids = ParallelIds.collect(corpus(), src_vocab=SRC_VOCAB, tgt_vocab=TGT_VOCAB)
    table = translation_probabilities(ids, tgt_vocab=TGT_VOCAB, iterations=3)
    sums = torch.zeros(SRC_VOCAB, dtype=torch.float64).index_add_(0, table.src, table.prob)
    sources = table.src.unique()
    assert sources.tolist() == [lexical.NULL_ID, *WORDS]
    assert torch.allclose(sums[sources], torch.ones(len(sources), dtype=torch.float64))
    assert (table.prob > 0).all()


def test_the_same_corpus_gives_the_same_shortlist_whatever_the_chunks(monkeypatch) -> None:
    pairs = corpus()
    first = build(pairs, k=12)
    assert torch.equal(first.lists, build(pairs, k=12).lists)
    monkeypatch.setattr(lexical, "LINKS_PER_CHUNK", 500)  # many chunks, ...
    monkeypatch.setattr(lexical, "KEPT_LINKS", 3000)  # ... only the first ones kept
    again = build(pairs, k=12)
    assert torch.equal(first.lists, again.lists) and torch.equal(first.frequent, again.frequent)


def test_special_ids_are_in_no_list_and_unseen_ids_have_none() -> None:
    shortlist = build(corpus(), k=30)
    listed = shortlist.lists[shortlist.lists >= 0]
    assert listed.min() >= SPECIAL_IDS and shortlist.frequent.min() >= SPECIAL_IDS
    assert (shortlist.lists[:SPECIAL_IDS] == -1).all()  # pad (NULL), unk, bos, eos
    assert (shortlist.lists[WORDS.stop :] == -1).all()  # never seen
    for row in shortlist.lists[list(WORDS)]:  # padding at the end only
        size = int((row >= 0).sum())
        assert (row[:size] >= 0).all() and (row[size:] == -1).all()


def test_a_list_is_padded_where_fewer_targets_co_occurred() -> None:
    shortlist = build([([5, 6], [9, 8]), ([5], [9])], k=4)
    assert shortlist.lists[5].tolist() == [9, 8, -1, -1]
    assert shortlist.lists[6].tolist() == [8, 9, -1, -1]  # 9 is 5's, so 8 is 6's


def test_frequent_ids_are_the_most_frequent_ties_by_id() -> None:
    pairs = corpus()
    counts = Counter(int(t) for _, target in pairs for t in target if t >= SPECIAL_IDS)
    expected = sorted(counts, key=lambda t: (-counts[t], t))[:8]
    assert build(pairs).frequent.tolist() == expected
    assert build([([5], [7, 6, 6, 7, EOS_ID])]).frequent.tolist() == [6, 7]  # fewer than 8


def test_ids_outside_the_vocabulary_and_no_iteration_are_refused() -> None:
    with pytest.raises(ValueError, match="target id 50 is outside the vocabulary of 50"):
        build([([5], [TGT_VOCAB])])
    with pytest.raises(ValueError, match="iterations must be at least 1"):
        build(corpus(10), iterations=0)
