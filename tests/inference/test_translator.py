"""Translator: order restored, empty lines kept, batches equal single sentences."""

from __future__ import annotations

from pathlib import Path

import pytest

from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.translator import Translator
from tests.helpers import MAX_POSITIONS

LINES = ["red book", "", "the big green house is old", "cat", "small tree new city red"]


def test_batched_translation_equals_one_at_a_time(model_dir: Path) -> None:
    translator = Translator.load(model_dir)
    for beam in (1, 4):
        batched = translator.translate(
            LINES, options=DecodingOptions(beam_size=beam, max_batch_tokens=16)
        )
        alone = [
            translator.translate([line], options=DecodingOptions(beam_size=beam))[0]
            for line in LINES
        ]
        assert batched == alone
        assert batched[1] == ""


def test_over_long_lines_are_truncated_and_reported(model_dir: Path) -> None:
    translator = Translator.load(model_dir)
    reported = []
    long_line = " ".join(["house"] * (3 * MAX_POSITIONS))
    out = translator.translate(
        ["cat", long_line], on_truncate=reported.append, options=DecodingOptions(beam_size=2)
    )
    assert len(out) == 2 and reported == [1]


def test_nbest_gives_scored_candidates_best_first(model_dir: Path) -> None:
    candidates = Translator.load(model_dir).translate_nbest(
        ["red book"], options=DecodingOptions(beam_size=4, nbest=3)
    )[0]
    assert len(candidates) == 3
    scores = [c.score for c in candidates]
    assert scores == sorted(scores, reverse=True)


def test_bf16_and_int8_modes_translate_every_line(model_dir: Path) -> None:
    for precision in ("bf16", "int8"):
        out = Translator.load(model_dir, precision=precision).translate(
            LINES, options=DecodingOptions(beam_size=2)
        )
        assert len(out) == len(LINES) and out[1] == ""
    with pytest.raises(ValueError, match="precision"):
        Translator.load(model_dir, precision="fp8")
