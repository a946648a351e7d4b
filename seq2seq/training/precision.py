"""The default numeric precision: bf16 only where it clearly pays off, else fp32."""

from __future__ import annotations

import torch

from seq2seq.common.cpu import cpu_has_amx

# bench/train_throughput.py, bf16-mixed against fp32 on a CPU with AMX: 1.87x for the base
# preset (d_model 512) but 1.04x for tiny (d_model 128), whose small matrix products leave the
# step to element-wise work that bf16 does not speed up. Wider models gain more.
MIN_CPU_BF16_WIDTH = 512


def resolve_precision(precision: str, *, accelerator: str, d_model: int) -> str:
    """Turn ``auto`` into a Lightning precision string; anything else passes through.

    ``auto`` is "bf16-mixed" on CUDA devices that support bf16, and on CPUs with AMX for models
    at least ``MIN_CPU_BF16_WIDTH`` wide (where it measured at least 1.8x fp32, with the same
    loss curve); "32-true" everywhere else.
    """
    if precision != "auto":
        return precision
    if accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available():
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "32-true"
    on_cpu = accelerator in ("cpu", "auto")
    if on_cpu and cpu_has_amx() and d_model >= MIN_CPU_BF16_WIDTH:
        return "bf16-mixed"
    return "32-true"
