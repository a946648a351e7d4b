"""Streaming readers for line-aligned parallel text and two-column TSV, with validation.

Files are read line by line (plain or gzipped) and never held in memory. Every problem is a
``DataError`` naming the file and line: a missing file, invalid UTF-8 (with the byte offset),
a tab or a control character inside a sentence, parallel files of different lengths.
"""

from __future__ import annotations

import gzip
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

from seq2seq.common.errors import DataError

T = TypeVar("T")

# C0 and C1 control characters (tab handled apart) and the Unicode line/paragraph separators.
_FORBIDDEN = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
FORBIDDEN_OR_TAB = re.compile(f"{_FORBIDDEN.pattern}|\t")
"""What a sentence may not hold: control characters, tabs and line separators."""


@dataclass(frozen=True)
class Pair:
    """One sentence pair and where it came from (1-based line number)."""

    src: str
    tgt: str
    line: int


def _open_binary(path: Path) -> BinaryIO:
    if not path.is_file():
        raise DataError(path, "file not found" if not path.exists() else "not a regular file")
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


def _check_characters(path: Path | str, line: int, text: str, *, allow_tab: bool) -> None:
    bad = _FORBIDDEN.search(text) or (None if allow_tab else re.search("\t", text))
    if bad:
        char = bad.group()
        name = "a tab" if char == "\t" else f"control character U+{ord(char):04X}"
        raise DataError(path, f"{name} at column {bad.start() + 1}", line=line)


def read_lines(
    path: Path | str, *, allow_tab: bool = False, errors: str = "strict"
) -> Iterator[str]:
    """Yield the lines of a UTF-8 text file (``.gz`` decompressed), without line endings.

    Args:
        errors: "strict", or "replace": invalid UTF-8 becomes U+FFFD and control characters
            (and tabs, unless ``allow_tab``) become spaces, so that every line gets through.

    Raises:
        DataError: the file is missing, or (strict) a line is not UTF-8 (the message gives
            the byte offset in the line and in the file) or holds a control character (or a
            tab, unless ``allow_tab``).
    """
    path = Path(path)
    return decode_lines(_binary_lines(path), path, allow_tab=allow_tab, errors=errors)


def decode_lines(
    raw_lines: Iterable[bytes], name: Path | str, *, allow_tab: bool = False, errors: str = "strict"
) -> Iterator[str]:
    """``read_lines`` for any stream of raw lines (stdin, say), errors naming ``name``."""
    if errors == "replace":
        yield from _replace_lines(raw_lines, allow_tab=allow_tab)
        return
    offset = 0
    path = name
    for number, raw in enumerate(raw_lines, 1):
        content = raw.rstrip(b"\n").removesuffix(b"\r")
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError as error:
            raise DataError(
                path,
                f"invalid UTF-8 at byte {error.start} of the line "
                f"(byte {offset + error.start} of the file)",
                line=number,
            ) from None
        _check_characters(path, number, text, allow_tab=allow_tab)
        offset += len(raw)
        yield text


def _replace_lines(raw_lines: Iterable[bytes], *, allow_tab: bool) -> Iterator[str]:
    forbidden = _FORBIDDEN if allow_tab else FORBIDDEN_OR_TAB
    for raw in raw_lines:
        text = raw.rstrip(b"\n").removesuffix(b"\r").decode("utf-8", errors="replace")
        yield forbidden.sub(" ", text)


def _binary_lines(path: Path) -> Iterator[bytes]:
    """Raw lines with their endings; a corrupt gzip stream becomes a DataError."""
    with _open_binary(path) as stream:
        try:
            yield from stream
        except (OSError, EOFError) as error:
            raise DataError(path, f"cannot be read: {error}") from None


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` items (the last may be shorter), read lazily."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def count_lines(path: Path) -> int:
    """Number of lines in a (possibly gzipped) file, counted as ``read_lines`` counts them."""
    return sum(1 for _ in _binary_lines(path))


def read_parallel(src: Path | str, tgt: Path | str) -> Iterator[Pair]:
    """Yield line-aligned pairs from two files.

    Raises:
        DataError: as ``read_lines``; or the files have different line counts (both given).
    """
    src, tgt = Path(src), Path(tgt)
    src_lines, tgt_lines = read_lines(src), read_lines(tgt)
    number = 0
    for number, src_text in enumerate(src_lines, 1):
        tgt_text = next(tgt_lines, None)
        if tgt_text is None:
            _mismatch(src, tgt, number - 1)
        yield Pair(src_text, tgt_text, number)
    if next(tgt_lines, None) is not None:
        _mismatch(src, tgt, number)


def _mismatch(src: Path, tgt: Path, shorter_count: int) -> None:
    counts = {src: count_lines(src), tgt: count_lines(tgt)}
    raise DataError(
        src,
        f"has {counts[src]} lines but {tgt} has {counts[tgt]}: parallel files must be "
        f"line-aligned (first unpaired line: {shorter_count + 1})",
    )


def read_tsv(path: Path | str) -> Iterator[Pair]:
    """Yield pairs from a two-column (source TAB target) file.

    Raises:
        DataError: as ``read_lines``; or a line does not have exactly two columns.
    """
    path = Path(path)
    for number, line in enumerate(read_lines(path, allow_tab=True), 1):
        columns = line.split("\t")
        if len(columns) != 2:
            raise DataError(
                path, f"expected 2 tab-separated columns, found {len(columns)}", line=number
            )
        yield Pair(columns[0], columns[1], number)


def paired_lines(
    first: Iterable[str], first_name: Path | str, second: Iterable[str], second_name: Path | str,
    *, pairing: str,
) -> Iterator[tuple[str, str]]:  # fmt: skip
    """The lines of two texts side by side; one that ends before the other is a DataError at
    its first missing line, whose problem ends with ``pairing`` (e.g. "one translation per
    source")."""
    missing = object()
    pairs = itertools.zip_longest(first, second, fillvalue=missing)
    for number, (one, other) in enumerate(pairs, start=1):
        if one is missing or other is missing:
            short, long = (first_name, second_name) if one is missing else (second_name, first_name)
            raise DataError(short, f"ends here, before {long}: {pairing}", line=number)
        yield one, other
