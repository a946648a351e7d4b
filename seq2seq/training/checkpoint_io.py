"""Checkpoints that survive kill -9, and that never run code when read.

Lightning's own writer stages a checkpoint in the system temporary folder and then moves it:
where that folder is another file system, the move is a copy, and a kill during the copy
leaves a torn ``last.ckpt``. Here the file is written beside its destination, flushed to
disk, and renamed over it (a rename within one folder is atomic): a reader sees the previous
checkpoint or the new one, never part of one. Reading uses ``torch.load(weights_only=True)``,
which rebuilds tensors and plain containers only, never arbitrary objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO

from seq2seq.common.atomic import write_atomically
from seq2seq.common.errors import DataError


class AtomicCheckpointIO(TorchCheckpointIO):
    """``TorchCheckpointIO`` with an atomic, durable write and a weights-only read."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options=None) -> None:
        write_atomically(Path(path), lambda stream: torch.save(checkpoint, stream))

    def load_checkpoint(self, path, map_location=None, weights_only=None) -> dict[str, Any]:
        return read_checkpoint(Path(path), map_location=map_location)


def read_checkpoint(path: Path, *, map_location=None) -> dict[str, Any]:
    """A checkpoint's contents, read weights-only.

    Raises:
        DataError: the file is missing or unreadable: torn, foreign, or a pickle that would
            have to run code (which is never run).
    """
    if not path.is_file():
        raise DataError(path, "checkpoint not found")
    try:
        return torch.load(path, map_location=map_location or "cpu", weights_only=True)
    except Exception as error:  # torn, foreign or unsafe: say which file, not how it failed
        raise DataError(path, f"not a readable checkpoint ({type(error).__name__})") from None
