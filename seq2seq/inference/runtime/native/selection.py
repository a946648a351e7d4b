"""Beam search's top-k, and its choice of candidates, each in one native call (``top_k.c``)."""

from __future__ import annotations

import ctypes

import torch
from torch import Tensor

from seq2seq.inference.runtime.native.build import native_library

MAX_K = 64  # each score that enters the k best shifts up to k of them


def _library_for(scores: Tensor, kept: int) -> ctypes.CDLL | None:
    """The native library, where it was built and its top-k takes ``scores``: fp32 on the CPU,
    keeping from 1 to ``MAX_K`` of each row."""
    if scores.dtype is torch.float32 and scores.is_cpu and 0 < kept <= MAX_K:
        return native_library()
    return None


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
    library = _library_for(scores, k) if k <= n else None
    if library is None:
        return None
    scores = scores.contiguous()
    values = scores.new_empty(rows, k)
    columns = torch.empty(rows, k, dtype=torch.long)
    library.top_k(scores.data_ptr(), rows, n, k, values.data_ptr(), columns.data_ptr())
    return values, columns


def native_select_top(
    scores: Tensor, *, k: int, eos: int
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor] | None:
    """Beam search's choice of each group's candidates in one native call, on torch's
    threads: of a group's 2k best, the first k that do not end with ``eos`` go on (padded
    with -inf on the group's best row and ``eos``), and those among the first k that end
    with a finite score are filed; None where the kernel does not apply (as
    ``native_top_k``).

    Args:
        scores: (groups, width, vocab) float, each group's rows' candidates.

    Returns:
        going scores, rows and tokens (groups, k); ended rows and scores (n,).
    """
    groups, width, vocab = scores.shape
    wanted = min(2 * k, width * vocab)
    library = _library_for(scores, wanted)
    if library is None:
        return None
    scores = scores.contiguous()
    going_scores, ended_scores = scores.new_empty(groups, k), scores.new_empty(groups * k)
    going_rows, going_tokens, ended_rows = (
        torch.empty(size, dtype=torch.long) for size in ((groups, k), (groups, k), groups * k)
    )
    candidates = scores.new_empty(groups, wanted)
    columns = torch.empty(groups, wanted, dtype=torch.long)
    ended = library.select_top(
        scores.data_ptr(), groups, width, vocab, k, eos, going_scores.data_ptr(),
        going_rows.data_ptr(), going_tokens.data_ptr(), ended_rows.data_ptr(),
        ended_scores.data_ptr(), candidates.data_ptr(), columns.data_ptr(),
        torch.get_num_threads(),
    )  # fmt: skip
    return going_scores, going_rows, going_tokens, ended_rows[:ended], ended_scores[:ended]
