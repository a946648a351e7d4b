"""Binarized token sequences on disk: ``<prefix>.bin`` (ids) + ``<prefix>.idx`` (offsets).

The ids of all sequences are concatenated in the smallest unsigned integer type that holds the
vocabulary; ``.idx`` holds n + 1 int64 offsets (sequence i is ids[offsets[i]:offsets[i+1]]).
Reading memory-maps both, so a corpus of any size costs the pages actually touched.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def smallest_dtype(vocab_size: int) -> np.dtype:
    """uint8, uint16 or uint32: the smallest that holds ids 0 .. vocab_size - 1."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if vocab_size - 1 <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    raise ValueError(f"vocabulary of {vocab_size} does not fit 32 bits")


class IndexedWriter:
    """Appends sequences of ids to ``<prefix>.bin`` and their end offsets to ``<prefix>.idx``."""

    def __init__(self, prefix: Path, dtype: np.dtype) -> None:
        self.dtype = dtype
        # Closed by __exit__: the writer is used as a context manager.
        self._bin = Path(f"{prefix}.bin").open("wb")  # noqa: SIM115
        self._idx = Path(f"{prefix}.idx").open("wb")  # noqa: SIM115
        self._end = 0
        self.count = 0
        np.zeros(1, dtype=np.int64).tofile(self._idx)

    def add_many(self, sequences: list[list[int]]) -> None:
        """Append a chunk of sequences (one write per file)."""
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
        flat = np.fromiter(
            (i for s in sequences for i in s), dtype=self.dtype, count=int(lengths.sum())
        )
        flat.tofile(self._bin)
        (self._end + np.cumsum(lengths)).tofile(self._idx)
        self._end += int(lengths.sum())
        self.count += len(sequences)

    def __enter__(self) -> IndexedWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._bin.close()
        self._idx.close()


class IndexedDataset:
    """Read-only, memory-mapped access to what IndexedWriter wrote."""

    def __init__(self, prefix: Path, dtype: np.dtype) -> None:
        self.offsets = np.memmap(f"{prefix}.idx", dtype=np.int64, mode="r")
        bin_path = Path(f"{prefix}.bin")
        empty = bin_path.stat().st_size == 0
        self.tokens = (
            np.zeros(0, dtype=dtype) if empty else np.memmap(bin_path, dtype=dtype, mode="r")
        )

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index: int) -> np.ndarray:
        """Ids of sequence ``index`` (1-D, the file's dtype)."""
        return self.tokens[self.offsets[index] : self.offsets[index + 1]]

    @property
    def lengths(self) -> np.ndarray:
        """(len(self),) int64 number of ids per sequence."""
        return np.diff(self.offsets)
