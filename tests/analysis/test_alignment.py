"""Word alignment from cross-attention: subwords summed into words, each target word to the
source word it attends to most; subwords that normalization changed placed by position."""

from __future__ import annotations

import pytest
import torch

from seq2seq.analysis import alignment
from seq2seq.analysis.attention import SentenceAttention
from seq2seq.inference.translator import Translator

SOURCE_PIECES = ["▁We", "▁bo", "ught", "▁books", ".", "</s>"]
TARGET_PIECES = ["<s>", "▁ما", "▁کتاب", "▁خرید", "یم", "."]
# Row t is the query that predicted TARGET_PIECES[t + 1]; the column is the piece it attends to.
ATTENDED = [0, 3, 2, 1, 4]


def crafted(loaded, source: str, target: str) -> SentenceAttention:
    sharp = torch.full((len(TARGET_PIECES), len(SOURCE_PIECES)), 0.01)
    for row, column in enumerate(ATTENDED):
        sharp[row, column] = 0.9
    flat = torch.full_like(sharp, 1 / len(SOURCE_PIECES))
    heads = [torch.stack([sharp, sharp]), torch.stack([flat, sharp])]
    return SentenceAttention(SOURCE_PIECES, TARGET_PIECES, [], [], heads)


def test_each_target_word_goes_to_the_source_word_of_its_subwords(monkeypatch) -> None:
    monkeypatch.setattr(alignment, "sentence_attention", crafted)
    # We bought books . <- ما کتاب خریدیم . ("خرید" attends to "ught", "یم" to "bo")
    assert alignment.word_alignment(None, "We bought books.", "ما کتاب خریدیم.") == [0, 2, 1, 3]


def test_a_word_past_the_pieces_seen_is_unaligned(monkeypatch) -> None:
    monkeypatch.setattr(alignment, "sentence_attention", crafted)
    assert alignment.word_alignment(None, "We bought books.", "ما کتاب خریدیم. بیشتر")[-1] is None


@pytest.mark.parametrize(
    ("pieces", "text", "words"),
    [
        (["▁We", "▁bo", "ught", "."], "We bought.", [0, 1, 1, 2]),
        (["▁ك", "تاب", "▁ها"], "کتاب ها", [0, 0, 1]),  # Arabic kaf normalized from keheh
    ],
)
def test_subwords_are_placed_in_the_text_as_written(pieces, text, words) -> None:
    assert alignment._words_of(pieces, text) == words


def test_a_real_models_alignment_has_a_source_word_per_target_word(model_dir) -> None:
    translator = Translator.load(model_dir)
    source = "the cat sat on the mat."
    target = translator.translate([source])[0]
    aligned = alignment.word_alignment(translator.loaded, source, target)
    assert len(aligned) == len(alignment.word_spans(target))
    assert all(i is not None and 0 <= i < 7 for i in aligned)
