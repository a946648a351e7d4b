"""Continuing an output file after a kill: whole lines kept, a torn last line cut."""

from __future__ import annotations

from pathlib import Path

import pytest

from seq2seq.common.errors import DataError
from seq2seq.common.resume import after_done, keep_complete_lines


@pytest.mark.parametrize(
    ("content", "lines", "kept"),
    [(b"one\ntwo\n", 2, b"one\ntwo\n"), (b"one\ntwo\nthr", 2, b"one\ntwo\n"),
     (b"torn", 0, b""), (b"", 0, b""), (b"\n\n", 2, b"\n\n")],
)  # fmt: skip
def test_whole_lines_are_counted_and_a_torn_one_cut(tmp_path, content, lines, kept) -> None:
    output = tmp_path / "out.fa"
    output.write_bytes(content)
    assert keep_complete_lines(output) == lines
    assert output.read_bytes() == kept


def test_a_torn_line_after_many_blocks_is_cut_at_the_right_byte(tmp_path: Path) -> None:
    output = tmp_path / "out.fa"
    whole = "سه کتاب قرمز\n".encode() * 200_000  # several of the reader's 1 MiB blocks
    output.write_bytes(whole + "نیمه".encode()[:5])
    assert keep_complete_lines(output) == 200_000
    assert output.read_bytes() == whole


def test_a_missing_output_starts_from_the_beginning(tmp_path: Path) -> None:
    assert keep_complete_lines(tmp_path / "new.fa") == 0
    assert not (tmp_path / "new.fa").exists()


def test_an_output_that_cannot_be_written_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=rf"^{tmp_path}: cannot be resumed: Is a directory$"):
        keep_complete_lines(tmp_path)


def test_the_lines_after_those_done_are_given() -> None:
    lines = after_done(iter(["a", "b", "c"]), 2, output=Path("out"), source="in")
    assert list(lines) == ["c"]


def test_an_input_shorter_than_the_output_is_an_error_naming_both() -> None:
    lines = after_done(iter(["a", "b"]), 3, output=Path("out.fa"), source="in.en")
    with pytest.raises(DataError, match=r"^out.fa: has 3 lines but in.en only 2: "):
        list(lines)
