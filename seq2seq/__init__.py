"""seq2seq: the original encoder-decoder Transformer for translation."""

from seq2seq.common.version import __version__ as __version__


def __getattr__(name: str):
    """``from seq2seq import Translator``, imported on first use (it loads torch)."""
    if name == "Translator":
        from seq2seq.inference.translator import Translator

        return Translator
    raise AttributeError(f"module 'seq2seq' has no attribute {name!r}")
