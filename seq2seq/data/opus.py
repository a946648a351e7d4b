"""Fetch an OPUS corpus in its Moses format and unpack it into the data layout, checked.

OPUS (opus.nlpl.eu) publishes every corpus version per language pair as a zip of two
line-aligned text files, ``<corpus>.<pair>.<lang>``, at
``<base>/OPUS-<corpus>/<version>/moses/<pair>.txt.zip`` (the pair's languages in alphabetical
order). The zip is streamed to a staged file, its sha256 computed on the way (and compared when
known), then both sides are decoded as UTF-8, line-cleaned (CR, tabs and control characters
become spaces; surrounding whitespace stripped; empty lines kept, so the sides stay aligned),
counted, and renamed into place together. A broken connection, a short or corrupt zip,
invalid UTF-8 or sides of different lengths are one ``DataError`` and leave no file behind.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from seq2seq.common.atomic import give_usual_permissions
from seq2seq.common.errors import DataError
from seq2seq.data.readers import FORBIDDEN_OR_TAB

OPUS_BASE = "https://object.pouta.csc.fi"
_BLOCK = 1 << 20


@dataclass(frozen=True)
class OpusCorpus:
    """One corpus version of a language pair on OPUS.

    Attributes:
        corpus: OPUS's name, e.g. "TEP", "MIZAN", "OpenSubtitles".
        version: e.g. "v1", "v2018".
        langs: the two language codes, e.g. ("en", "fa"), in any order.
    """

    corpus: str
    version: str
    langs: tuple[str, str]

    @property
    def pair(self) -> str:
        """The pair as OPUS names it: languages in alphabetical order, e.g. "en-fa"."""
        return "-".join(sorted(self.langs))

    def url(self, base: str = OPUS_BASE) -> str:
        return f"{base.rstrip('/')}/OPUS-{self.corpus}/{self.version}/moses/{self.pair}.txt.zip"

    def member(self, lang: str) -> str:
        """The name of one side's file inside the zip."""
        return f"{self.corpus}.{self.pair}.{lang}"

    def destination(self, root: Path, lang: str) -> Path:
        """Where one side goes in the data layout: ``train/opus-<corpus>-<version>.<lang>``."""
        return root / "train" / f"opus-{self.corpus}-{self.version}.{lang}"


@dataclass(frozen=True)
class OpusDownload:
    """What ``fetch_opus`` wrote: one file per language, the pair count and the zip's sha256."""

    files: dict[str, Path]
    pairs: int
    sha256: str


def fetch_opus(
    corpus: OpusCorpus, root: Path, *, base: str = OPUS_BASE, sha256: str | None = None
) -> OpusDownload:
    """Download, check and unpack ``corpus`` under ``root``; files already there are replaced.

    Raises:
        DataError: as the module says; nothing is written then.
    """
    url = corpus.url(base)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=".opus-") as staging:
        archive = Path(staging) / "corpus.zip"
        digest = _fetch(url, archive)
        if sha256 is not None and digest != sha256.lower():
            raise DataError(url, f"sha256 mismatch (expected {sha256}, got {digest}); not written")
        staged = {lang: Path(staging) / lang for lang in corpus.langs}
        counts = _unpack(archive, corpus, staged, name=url)
        if len(set(counts.values())) != 1:
            sides = ", ".join(f"{corpus.member(lang)} has {n}" for lang, n in counts.items())
            raise DataError(url, f"the sides are not line-aligned: {sides} lines; not written")
        files = {lang: corpus.destination(root, lang) for lang in corpus.langs}
        for lang, path in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            give_usual_permissions(staged[lang])
            os.replace(staged[lang], path)
    return OpusDownload(files, counts[corpus.langs[0]], digest)


def _fetch(url: str, target: Path) -> str:
    """Stream ``url`` into ``target``; the sha256 of what arrived. A body shorter than its
    Content-Length (a dropped connection) is an error."""
    digest, received = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(url, timeout=60) as response, target.open("wb") as out:
            expected = response.headers.get("Content-Length")
            for block in iter(lambda: response.read(_BLOCK), b""):
                digest.update(block)
                out.write(block)
                received += len(block)
    except urllib.error.HTTPError as error:
        raise DataError(url, f"download failed: HTTP {error.code} {error.reason}") from None
    except http.client.IncompleteRead as error:
        raise DataError(
            url, f"download interrupted after {received + len(error.partial)} bytes; not written"
        ) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        raise DataError(url, f"download failed: {getattr(error, 'reason', error)}") from None
    if expected is not None and received != int(expected):
        raise DataError(
            url, f"download interrupted after {received} bytes of {expected}; not written"
        )
    return digest.hexdigest()


def _unpack(
    archive: Path, corpus: OpusCorpus, staged: dict[str, Path], *, name: str
) -> dict[str, int]:
    """Write each side's cleaned lines to ``staged[lang]``; the line count per language."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = set(bundle.namelist())
            counts = {}
            for lang, path in staged.items():
                member = corpus.member(lang)
                if member not in members:
                    have = ", ".join(sorted(members))
                    raise DataError(name, f"the zip has no {member} (it has {have})")
                with bundle.open(member) as stream, path.open("wb") as out:
                    counts[lang] = _copy_clean(stream, out, name=f"{name}!{member}")
            return counts
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as error:
        raise DataError(name, f"not a valid zip file ({error}); not written") from None


def _copy_clean(stream: BinaryIO, out: BinaryIO, *, name: str) -> int:
    count = 0
    for text in _decoded_lines(stream, name=name):
        out.write(FORBIDDEN_OR_TAB.sub(" ", text).strip().encode("utf-8") + b"\n")
        count += 1
    return count


def _decoded_lines(stream: BinaryIO, *, name: str) -> Iterator[str]:
    for number, raw in enumerate(stream, 1):
        try:
            yield raw.rstrip(b"\n").removesuffix(b"\r").decode("utf-8")
        except UnicodeDecodeError as error:
            raise DataError(
                name, f"invalid UTF-8 at byte {error.start} of the line; not written", line=number
            ) from None
