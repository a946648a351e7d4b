"""CTranslate2 beside torch in one process: making a ``ctranslate2.Translator`` sets the OpenMP
thread count of the thread that makes it to the translator's ``intra_threads``. Where torch
was loaded first, CTranslate2's OpenMP calls reach torch's runtime (one set of ``omp_*``
symbols serves the process), so that count becomes torch's, and our decoder in the same
process (a server's requests that the engine does not take) would run on the engine's one
thread per worker."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def torch_threads_kept() -> Iterator[None]:
    """torch's thread count as it was before the block, restored after it."""
    threads = torch.get_num_threads()
    try:
        yield
    finally:
        torch.set_num_threads(threads)
