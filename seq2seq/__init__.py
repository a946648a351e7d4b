"""seq2seq: the original encoder-decoder Transformer for translation."""

import os

# OpenMP's default spin-waiting makes a step up to 4x slower on a shared 2-core machine when
# another process holds a core. Passive waiting costs nothing measurable when the cores are
# free. This must happen before torch loads its OpenMP runtime; a value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"


def __getattr__(name: str):
    """``from seq2seq import Translator``, imported on first use (it loads torch)."""
    if name == "Translator":
        from seq2seq.inference.translator import Translator

        return Translator
    raise AttributeError(f"module 'seq2seq' has no attribute {name!r}")
