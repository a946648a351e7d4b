"""seq2seq: the original encoder-decoder Transformer for translation."""

__version__ = "0.1.0"
