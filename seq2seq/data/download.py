"""Fetch the files of a data layout over HTTP(S), each checked against its sha256.

A manifest (``conf/downloads/<name>.yaml``) maps each relative path to its sha256 and, where
the file is an upstream file as is, its upstream ``url``. A download is line-cleaned (CRLF ->
LF, tabs and line separators -> spaces, surrounding whitespace stripped), checked, and only
then renamed into place: a wrong checksum or a broken connection writes nothing.
"""

from __future__ import annotations

import hashlib
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from omegaconf import OmegaConf

from seq2seq.common.atomic import write_atomically
from seq2seq.common.errors import DataError

_SEPARATORS = re.compile(b"[\t\x0b\x0c]|\xc2\x85|\xe2\x80[\xa8\xa9]")


@dataclass(frozen=True)
class RemoteFile:
    path: str  # relative to the data root
    sha256: str
    url: str | None  # None: derived data, only on a mirror of the layout


def load_manifest(name: str) -> list[RemoteFile]:
    """The files of ``conf/downloads/<name>.yaml``."""
    entry = files("seq2seq.conf").joinpath("downloads", f"{name}.yaml")
    if not entry.is_file():
        raise DataError(name, "no such download manifest")
    manifest = OmegaConf.to_container(OmegaConf.create(entry.read_text(encoding="utf-8")))
    return [RemoteFile(path, f["sha256"], f.get("url")) for path, f in manifest.items()]


def clean_lines(data: bytes) -> bytes:
    """Line-clean a text file: LF endings, no tabs or stray separators, no edge whitespace."""
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return b"".join(_SEPARATORS.sub(b" ", line).strip() + b"\n" for line in lines)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def download(
    remote: list[RemoteFile],
    root: Path,
    *,
    mirror: str | None = None,
    report: Callable[[str, str], None] = lambda path, status: None,
) -> None:
    """Put every file under ``root``; files already there with the right sha256 are kept.

    Args:
        mirror: base URL of a copy of the layout (``mirror/<path>``) instead of upstream.
        report: called with (path, "kept" | "downloaded") for each file.

    Raises:
        DataError: a file with no upstream copy and no mirror, a failed download, or a
            checksum mismatch (nothing is written for that file).
    """
    for item in remote:
        target = root / item.path
        if target.is_file() and sha256_of(target) == item.sha256:
            report(item.path, "kept")
            continue
        url = f"{mirror.rstrip('/')}/{item.path}" if mirror else item.url
        if url is None:
            raise DataError(item.path, "derived data with no upstream copy: give --mirror URL")
        _fetch_checked(url, target, item.sha256)
        report(item.path, "downloaded")


def _fetch_checked(url: str, target: Path, sha256: str) -> None:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            data = clean_lines(response.read())
    except (urllib.error.URLError, OSError) as error:
        raise DataError(url, f"download failed: {getattr(error, 'reason', error)}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise DataError(url, f"sha256 mismatch (expected {sha256}, got {digest}); not written")
    write_atomically(target, lambda stream: stream.write(data))
