"""What every benchmark prints first: the CPU, its matrix-relevant flags and the software."""

from __future__ import annotations

import os
import platform

import torch

from seq2seq.common.cpu import cpu_flags, cpuinfo_fields

OPENMP_WAITING = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")  # seq2seq.common.threads sets both
FLAGS_OF_INTEREST = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8")


def cpu_description() -> str:
    """'model name (family F, model M; flags: ...)' from /proc/cpuinfo, or the platform string
    elsewhere. Family and model tell apart CPUs that share a name: an "AMD EPYC" of family 25
    is a Zen 3 or Zen 4, of family 26 a Zen 5, whose full-width AVX-512 units change every
    ratio."""
    fields = cpuinfo_fields()
    if not fields:
        return platform.processor() or platform.machine()
    generation = f"family {fields.get('cpu family', '?')}, model {fields.get('model', '?')}"
    present = " ".join(flag for flag in FLAGS_OF_INTEREST if flag in cpu_flags()) or "none"
    return f"{fields.get('model name', 'unknown CPU')} ({generation}; flags: {present})"


def print_machine() -> None:
    """Print CPU, core count, threads and library versions, one line each."""
    print(f"cpu: {cpu_description()}")
    print(f"cores: {os.cpu_count()}, torch threads: {torch.get_num_threads()}")
    print(f"torch {torch.__version__}, python {platform.python_version()}")
    waiting = (f"{name}={os.environ.get(name, '(unset)')}" for name in OPENMP_WAITING)
    print(" ".join(waiting))
