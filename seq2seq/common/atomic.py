"""Write a file so that readers see the old content or the new, never a part of it."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def give_usual_permissions(path: Path | str) -> None:
    """Give ``path`` the permissions of a file made by ``open``: 0o666 less the umask.

    A staged temporary file is readable by its owner only, and so is everything safetensors
    writes (0.8 stages its files too: safetensors/safetensors#782): without this, other users
    and containers running as another user could not read a checkpoint or a model's weights.
    """
    umask = os.umask(0o077)  # reading the umask means setting it
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def write_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(stream)`` on a file staged beside ``path`` (``.NAME.*.tmp``), flush it to
    disk and rename it over ``path``; a rename within one folder is atomic, so a kill at any
    moment leaves the previous file whole. On an error the staged file is removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, staged = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        give_usual_permissions(staged)
        os.replace(staged, path)
    except BaseException:
        Path(staged).unlink(missing_ok=True)
        raise


def publish_directory(staged: Path, target: Path, *, complete: Callable[[Path], bool]) -> None:
    """Rename the finished folder ``staged`` to ``target``, which readers see whole or not at
    all. Processes that build the same folder at once (the ranks of a multi-process run, each
    preparing the same data) all succeed: the first rename wins and the others discard theirs.
    A ``target`` that is not ``complete`` (left by an older version) is replaced."""
    if complete(target):
        shutil.rmtree(staged)
        return
    shutil.rmtree(target, ignore_errors=True)
    try:
        os.replace(staged, target)
    except OSError:  # another process renamed its copy into place in between
        if not complete(target):
            raise
        shutil.rmtree(staged)
