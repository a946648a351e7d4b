"""Log-softmax of a step's logits in place, in one native call (``scores.c``)."""

from __future__ import annotations

import torch
from torch import Tensor

from seq2seq.inference.runtime.native.build import native_library


def native_log_softmax_(logits: Tensor) -> Tensor | None:
    """``logits`` overwritten by their log-softmax along each row, on torch's threads; None
    (``logits`` untouched) where the kernel does not apply: no native library, or not
    contiguous fp32 on the CPU.

    Args:
        logits: (rows, vocab) float.
    """
    if not (logits.dtype is torch.float32 and logits.is_cpu and logits.is_contiguous()):
        return None
    library = native_library()
    if library is None:
        return None
    rows, vocab = logits.shape
    library.log_softmax(logits.data_ptr(), rows, vocab, torch.get_num_threads())
    return logits
