"""Files to translate: their texts, and the file again with translations in their place.

Plain text (.txt) is one text; HTML (.html, .htm) one text of markup; subtitles (.srt) one text
per cue, whose number and times are kept; Word documents (.docx, through python-docx) one text
per paragraph, in the body and in tables (nested ones and hyperlinks included), whose runs keep
their formatting (the translation goes to the paragraph's first run with text).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

SUFFIXES = (".txt", ".html", ".htm", ".srt", ".docx")
MEDIA_TYPES = {
    ".txt": "text/plain; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".srt": "application/x-subrip; charset=utf-8",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
TIMES = re.compile(r"\d\d:\d\d:\d\d[,.]\d{3} --> \d\d:\d\d:\d\d[,.]\d{3}.*")


def suffix_of(name: str) -> str:
    """What kind of file ``name`` (a name without folders) says it is: ".txt" for "a.TXT"."""
    return PurePosixPath(name).suffix.lower()


class DocumentError(ValueError):
    """A file that is not of its kind, or of no kind served; the message names the file."""


@dataclass(frozen=True)
class Document:
    """A file's texts to translate (``html``: they are markup) and ``render``, which gives
    the file's bytes with the translations of those texts in their place."""

    texts: list[str]
    html: bool
    render: Callable[[list[str]], bytes]


def read_document(name: str, data: bytes, *, max_unpacked: int) -> Document:
    """The texts of the file ``name`` (its suffix says its kind) holding ``data``; a Word
    document may unpack to ``max_unpacked`` bytes at most."""
    suffix = suffix_of(name)
    if suffix not in SUFFIXES:
        raise DocumentError(f"{name}: not a file this server translates ({', '.join(SUFFIXES)})")
    if suffix == ".docx":
        return _docx(name, data, max_unpacked=max_unpacked)
    text = _utf8(name, data)
    if suffix == ".srt":
        return _srt(name, text)
    return Document([text], suffix != ".txt", lambda translations: translations[0].encode())


def _utf8(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DocumentError(f"{name}: not UTF-8 (byte {error.start})") from None


def _srt(name: str, text: str) -> Document:
    """Cues: a number, a time range, and lines of text, with blank lines between cues."""
    cues = [block.splitlines() for block in re.split(r"\n\s*\n", text.strip().replace("\r", ""))]
    line = 1
    for cue in cues:
        if len(cue) < 2 or not cue[0].strip().isdigit() or not TIMES.fullmatch(cue[1].strip()):
            raise DocumentError(f"{name}: line {line}: expected a cue: number, times, text")
        line += len(cue) + 1

    def render(translations: list[str]) -> bytes:
        blocks = [f"{cue[0]}\n{cue[1]}\n{t}\n" for cue, t in zip(cues, translations, strict=True)]
        return "\n".join(blocks).encode()

    return Document([" ".join(cue[2:]) for cue in cues], False, render)


def _docx(name: str, data: bytes, *, max_unpacked: int) -> Document:
    import docx  # python-docx, of the serve extra
    from docx.opc.exceptions import PackageNotFoundError
    from lxml.etree import XMLSyntaxError

    _check_unpacked(name, data, max_unpacked=max_unpacked)
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, XMLSyntaxError,
            NotImplementedError):  # fmt: skip
        raise DocumentError(f"{name}: not a Word document (.docx)") from None
    paragraphs = {p._p: p for p in _paragraphs(document)}  # a merged cell comes once per column
    every = [_runs(paragraph) for paragraph in paragraphs.values()]
    kept = [runs for runs in every if any(run.text.strip() for run in runs)]

    def render(translations: list[str]) -> bytes:
        for runs, translation in zip(kept, translations, strict=True):
            written = [run for run in runs if run.text]
            written[0].text = translation
            for run in written[1:]:
                run.text = ""
        out = io.BytesIO()
        document.save(out)
        return out.getvalue()

    return Document(["".join(run.text for run in runs) for runs in kept], False, render)


def _check_unpacked(name: str, data: bytes, *, max_unpacked: int) -> None:
    """A zip that would unpack to more than ``max_unpacked`` bytes is refused unread."""
    try:
        unpacked = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except zipfile.BadZipFile:
        raise DocumentError(f"{name}: not a Word document (.docx)") from None
    if unpacked > max_unpacked:
        raise DocumentError(f"{name}: unpacks to {unpacked} bytes, over {max_unpacked}")


def _paragraphs(container) -> Iterator:
    """The paragraphs of a document or a table cell, those of its tables (nested) included."""
    yield from container.paragraphs
    for table in container.tables:
        for row in table.rows:
            for cell in row.cells:
                yield from _paragraphs(cell)


def _runs(paragraph) -> list:
    """A paragraph's runs, those inside its hyperlinks included, in order."""
    runs = []
    for item in paragraph.iter_inner_content():
        runs += item.runs if hasattr(item, "runs") else [item]
    return runs
