"""The demo corpus: deterministic, disjoint splits, and the Persian it is meant to teach."""

from __future__ import annotations

import random
from pathlib import Path

from seq2seq.data.demo import ADJECTIVES, noun_phrase, number_words, write_demo_corpus


def test_number_words() -> None:
    assert number_words(7) == ("seven", "هفت")
    assert number_words(40) == ("forty", "چهل")
    assert number_words(23) == ("twenty-three", "بیست و سه")


def test_adjective_follows_the_noun_and_the_noun_stays_singular_after_a_number() -> None:
    adjectives = dict(ADJECTIVES)
    for seed in range(200):
        english, persian = noun_phrase(random.Random(seed), definite=True)
        words = english.split()  # "the [number] adjective noun(s)"
        assert persian.split()[-1] == adjectives[words[-2]]
        if len(words) == 4:  # a number: the noun stays singular in Persian
            assert "های" not in persian
    indefinite = [noun_phrase(random.Random(s), definite=False)[0] for s in range(300)]
    assert not [en for en in indefinite if en.startswith("a ") and en[2] in "aeiou"]


def test_same_seed_same_corpus_and_disjoint_splits(tmp_path: Path) -> None:
    write_demo_corpus(tmp_path / "a", train=500, dev=50, test=50, seed=3)
    write_demo_corpus(tmp_path / "b", train=500, dev=50, test=50, seed=3)
    sides = {}
    for split in ("train", "dev", "test"):
        text = (tmp_path / "a" / split / "demo.en").read_text(encoding="utf-8")
        assert text == (tmp_path / "b" / split / "demo.en").read_text(encoding="utf-8")
        sides[split] = set(text.splitlines())
    assert len(sides["train"]) == 500
    assert not sides["train"] & sides["test"] and not sides["dev"] & sides["test"]
    assert not sides["train"] & sides["dev"]
