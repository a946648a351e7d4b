"""Streaming translation: one output line per input line, whatever the input holds."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.streaming import format_line, translate_chunks
from seq2seq.inference.translator import Candidate, Translator


@pytest.fixture(scope="module")
def translator(model_dir: Path) -> Translator:
    return Translator.load(model_dir)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(st.text(alphabet=st.characters(exclude_categories=["Cs"],
                                                     exclude_characters="\n\r"), max_size=60),
                      max_size=12))  # fmt: skip
def test_any_unicode_lines_give_as_many_output_lines(translator: Translator, lines) -> None:
    chunks = translate_chunks(
        translator, iter(lines), options=DecodingOptions(beam_size=1), chunk_lines=5
    )
    out = "".join(format_line(c, 1) + "\n" for _, results in chunks for c in results)
    assert out.count("\n") == len(lines)
    assert len(out.splitlines()) == len(lines)  # no line break hides inside a line


def test_chunks_keep_the_order_and_nbest_rows_keep_their_columns(translator: Translator) -> None:
    lines = ["red book", "", "the three cats", "tree", "cat"]
    chunks = list(
        translate_chunks(translator, lines, options=DecodingOptions(beam_size=2), chunk_lines=2)
    )
    assert [sources for sources, _ in chunks] == [lines[:2], lines[2:4], lines[4:]]
    row = format_line([Candidate("a\tb\nc", -1.5), Candidate("d", -2.25)], 2)
    assert row == "a b c\t-1.5000\td\t-2.2500"
