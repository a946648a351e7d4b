"""How glibc's malloc keeps freed memory: the setting the entry points choose for their
process.

A decoding step allocates and frees buffers of megabytes (a batch's logits: 400 rows of
8,000 scores are 12.8 MB). glibc serves such sizes by mapping fresh pages, and once several
are freed at the top of its heap it gives them back, so the next step pays thousands of page
faults again. Raising the mapping threshold to its largest (32 MiB) and the trim threshold
to ``TRIM_THRESHOLD`` keeps freed buffers in the heap for the next step: the base preset at
beam 5, 32 sentences in a batch, decodes 3-7% faster (docs/benchmarks.md, "Freed memory
kept"). The process then holds on to its peak.
"""

from __future__ import annotations

import ctypes
import os

MMAP_THRESHOLD = 32 * 2**20  # glibc's largest on 64-bit systems
TRIM_THRESHOLD = 512 * 2**20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (malloc.h)
_USERS_OWN = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to keep freed buffers up to 32 MiB for reuse, unless the user set
    malloc's thresholds (``MALLOC_*_`` or ``GLIBC_TUNABLES``). Returns whether it did: False
    also where the C library is not glibc."""
    if any(name in os.environ for name in _USERS_OWN) or "malloc" in os.environ.get(
        "GLIBC_TUNABLES", ""
    ):
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
