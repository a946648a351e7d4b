"""Beam search's top-k in one native call (``top_k.c``)."""

from __future__ import annotations

import torch
from torch import Tensor

from seq2seq.inference.runtime.native.build import native_library

MAX_K = 64  # each score that enters the k best shifts up to k of them


def native_top_k(scores: Tensor, k: int) -> tuple[Tensor, Tensor] | None:
    """``scores.topk(k, dim=1)`` in one pass over each row: the values and columns of each
    row's k largest, largest first, equal values in column order; None where the kernel does
    not apply (no native library, not fp32 on the CPU, k over ``MAX_K`` or the row length).

    Args:
        scores: (rows, n) float.

    Returns:
        values (rows, k) and columns (rows, k) long.
    """
    rows, n = scores.shape
    if not (scores.dtype is torch.float32 and scores.is_cpu and 0 < k <= min(n, MAX_K)):
        return None
    library = native_library()
    if library is None:
        return None
    scores = scores.contiguous()
    values = scores.new_empty(rows, k)
    columns = torch.empty(rows, k, dtype=torch.long)
    library.top_k(scores.data_ptr(), rows, n, k, values.data_ptr(), columns.data_ptr())
    return values, columns
