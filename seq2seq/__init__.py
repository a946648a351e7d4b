"""seq2seq: the original encoder-decoder Transformer for translation."""

import os

# How OpenMP's idle threads wait between parallel regions. Its default, spinning up to about
# 3 ms (GOMP_SPINCOUNT 300,000), makes a step up to 4x slower on a shared 2-core machine when
# another process holds a core; never spinning (OMP_WAIT_POLICY=PASSIVE alone) makes decoding
# about 1.5x slower on a free machine, where each short operation waits for threads to wake.
# Spinning for about 0.1 ms and then sleeping keeps the free-machine speed and bounds the loss
# on a shared one (bench/thread_waiting.py, docs/benchmarks.md). This must happen before torch
# loads its OpenMP runtime; values the user set win.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("GOMP_SPINCOUNT", "10000")

__version__ = "0.1.0"


def __getattr__(name: str):
    """``from seq2seq import Translator``, imported on first use (it loads torch)."""
    if name == "Translator":
        from seq2seq.inference.translator import Translator

        return Translator
    raise AttributeError(f"module 'seq2seq' has no attribute {name!r}")
