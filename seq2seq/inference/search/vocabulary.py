"""Scorers combine scores id by id (shallow fusion, ensembles): their vocabularies must be one,
piece for piece."""

from __future__ import annotations

from seq2seq.common.errors import DataError
from seq2seq.data.tokenizer import Tokenizer


def check_same_pieces(reference: Tokenizer, other: Tokenizer, *, why: str) -> None:
    """Raises ``DataError`` naming ``other``'s SentencePiece model, ``reference``'s and the
    first difference, unless the two have the same pieces under the same ids; ``why``
    ends the line (what the two must share, and why)."""
    ids = range(max(reference.vocab_size, other.vocab_size))
    if reference.vocab_size == other.vocab_size and reference.pieces(ids) == other.pieces(ids):
        return
    if reference.vocab_size != other.vocab_size:
        difference = f"{other.vocab_size} pieces against {reference.vocab_size}"
    else:
        first = next(i for i in ids if reference.pieces([i]) != other.pieces([i]))
        difference = (
            f"piece {first} is {other.pieces([first])[0]!r}, not {reference.pieces([first])[0]!r}"
        )
    raise DataError(
        other.model_file, f"not the vocabulary of {reference.model_file} ({difference}): {why}"
    )
