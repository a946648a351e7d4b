"""Dev and test pairs carved out of a training corpus, chosen by a hash of each pair.

A pair's key is the SHA-256 of its raw lines, joined by a tab in the order of the language
codes, so en->fa and fa->en hold out the same pairs and the choice does not depend on the
order of the file or on normalization. The ``dev`` pairs of smallest key are the dev part, the
next ``test`` pairs the test part, and every other pair is the training part. Two passes over
the files, and memory for ``dev + test`` keys only.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterator
from dataclasses import dataclass

PARTS = ("train", "dev", "test")


@dataclass(frozen=True)
class HeldOut:
    """How many pairs of a corpus are held out for each of dev and test.

    Attributes:
        dev, test: pairs in each held-out part; a corpus with fewer than ``dev + test``
            pairs gives them all to dev first, then to test, and trains on none.
    """

    dev: int = 0
    test: int = 0

    def __post_init__(self) -> None:
        if self.dev < 0 or self.test < 0:
            raise ValueError(f"held-out sizes must be >= 0, got dev={self.dev} test={self.test}")

    def parts(self, keyed_lines: Iterator[tuple[bytes, int]]) -> dict[int, str]:
        """Line number -> "dev" or "test" for the held-out pairs; other lines train.

        Args:
            keyed_lines: (key, 1-based line number) of every pair, as ``pair_key`` gives.
        """
        chosen = heapq.nsmallest(self.dev + self.test, keyed_lines)
        return {line: "dev" if rank < self.dev else "test" for rank, (_, line) in enumerate(chosen)}


def pair_key(sides: dict[str, str]) -> bytes:
    """The hash that orders pairs for holding out: language code -> raw line."""
    joined = "\t".join(sides[lang] for lang in sorted(sides))
    return hashlib.sha256(joined.encode("utf-8")).digest()
