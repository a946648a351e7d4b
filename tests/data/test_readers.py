"""Every validation error names the file and the line (and the byte, for UTF-8)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from seq2seq.common.errors import DataError
from seq2seq.data.corpus import Corpus
from seq2seq.data.readers import read_lines, read_parallel, read_tsv


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_pairs_stream_with_line_numbers_and_crlf_removed(tmp_path: Path) -> None:
    src = write(tmp_path / "a.en", b"one\r\ntwo\n")
    tgt = write(tmp_path / "a.fa", "یک\nدو".encode())
    pairs = list(read_parallel(src, tgt))
    assert [(p.src, p.tgt, p.line) for p in pairs] == [("one", "یک", 1), ("two", "دو", 2)]


def test_gzipped_files_are_read_transparently(tmp_path: Path) -> None:
    path = tmp_path / "a.en.gz"
    with gzip.open(path, "wb") as stream:
        stream.write(b"hello\nworld\n")
    assert list(read_lines(path)) == ["hello", "world"]


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.en: file not found"):
        list(read_lines(tmp_path / "nope.en"))


@pytest.mark.parametrize(("src_lines", "tgt_lines"), [(3, 2), (2, 3)])
def test_different_line_counts_give_both_counts(tmp_path: Path, src_lines, tgt_lines) -> None:
    src = write(tmp_path / "a.en", b"x\n" * src_lines)
    tgt = write(tmp_path / "a.fa", b"y\n" * tgt_lines)
    with pytest.raises(DataError) as error:
        list(read_parallel(src, tgt))
    message = str(error.value)
    assert f"a.en: has {src_lines} lines but {tgt} has {tgt_lines}" in message
    assert "\n" not in message


def test_invalid_utf8_names_line_and_byte_offset(tmp_path: Path) -> None:
    path = write(tmp_path / "a.fa", b"good line\nab\xffcd\n")
    with pytest.raises(DataError) as error:
        list(read_lines(path))
    assert str(error.value) == (
        f"{path}:2: invalid UTF-8 at byte 2 of the line (byte 12 of the file)"
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"ok\nhas\ta tab\n", "2: a tab at column 4"),
        (b"bell\x07here\n", "1: control character U+0007 at column 5"),
        ("next\u0085line\n".encode(), "1: control character U+0085 at column 5"),
        ("para\u2029sep\n".encode(), "1: control character U+2029 at column 5"),
        (b"cr\rinside\n", "1: control character U+000D at column 3"),
    ],
)
def test_tabs_and_control_characters_are_refused(tmp_path: Path, content, problem) -> None:
    path = write(tmp_path / "a.en", content)
    with pytest.raises(DataError, match=re.escape(f"a.en:{problem}") + "$"):
        list(read_lines(path))


def test_tsv_needs_exactly_two_columns(tmp_path: Path) -> None:
    good = write(tmp_path / "good.tsv", "hello\tسلام\n".encode())
    assert [(p.src, p.tgt) for p in read_tsv(good)] == [("hello", "سلام")]
    bad = write(tmp_path / "bad.tsv", b"a\tb\na\tb\tc\n")
    with pytest.raises(DataError, match=r"bad.tsv:2: expected 2 tab-separated columns, found 3"):
        list(read_tsv(bad))


def test_corrupt_gzip_is_a_data_error(tmp_path: Path) -> None:
    path = write(tmp_path / "a.en.gz", b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(DataError, match=r"a\.en\.gz: cannot be read"):
        list(read_lines(path))


def test_tsv_corpus_reads_in_either_direction(tmp_path: Path) -> None:
    write(tmp_path / "x.tsv", "hello\tسلام\n".encode())
    corpus = Corpus.from_config({"tsv": "x.tsv", "columns": ["en", "fa"]})
    assert [(p.src, p.tgt) for p in corpus.pairs(tmp_path, "en", "fa")] == [("hello", "سلام")]
    assert [(p.src, p.tgt) for p in corpus.pairs(tmp_path, "fa", "en")] == [("سلام", "hello")]
    with pytest.raises(DataError, match="columns"):
        list(corpus.pairs(tmp_path, "en", "de"))
