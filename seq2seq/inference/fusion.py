"""Shallow fusion (Gulcehre et al. 2015): a target-side language model's log-probabilities,
weighted, added to the translation model's at every step of beam search.

The language model steps on a key/value cache of its own, row for row with the translation
model's: the same tokens in, the same reorders as the beams move.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from torch import Tensor

from seq2seq.common.errors import DataError
from seq2seq.data.tokenizer import Tokenizer
from seq2seq.inference.cache import DecoderCache
from seq2seq.model import DecoderOnlyTransformer


def check_shared_vocabulary(target: Tokenizer, lm: Tokenizer) -> None:
    """Fusion adds scores id by id: the language model's vocabulary must be the translation
    model's target vocabulary, piece for piece.

    Raises:
        DataError: naming the language model's tokenizer and the first difference.
    """
    ids = range(max(target.vocab_size, lm.vocab_size))
    if target.vocab_size == lm.vocab_size and target.pieces(ids) == lm.pieces(ids):
        return
    if target.vocab_size != lm.vocab_size:
        difference = f"{lm.vocab_size} pieces against {target.vocab_size}"
    else:
        first = next(i for i in ids if target.pieces([i]) != lm.pieces([i]))
        difference = (
            f"piece {first} is {lm.pieces([first])[0]!r}, not {target.pieces([first])[0]!r}"
        )
    raise DataError(
        lm.model_file,
        f"not the translation model's target vocabulary ({difference}): a fused language "
        "model must be trained on the translation experiment's data and tokenizer",
    )


@dataclass(frozen=True)
class ShallowFusion:
    """The language model's side of a fused search.

    Attributes:
        cache: the language model's cache, one row per translation-model row.
        weight: W in log p_TM(y) + W log p_LM(y).
    """

    cache: DecoderCache
    weight: float

    @classmethod
    def start(
        cls, model: DecoderOnlyTransformer, *, rows: int, weight: float, reserve: int
    ) -> ShallowFusion:
        """Before the first step: ``rows`` sentences, ``reserve`` entries each (as the
        translation model's cache)."""
        return cls(DecoderCache.without_memory(model.decoder, rows=rows, reserve=reserve), weight)

    def add(self, log_probs: Tensor, last_tokens: Tensor) -> tuple[Tensor, ShallowFusion]:
        """``log_probs`` plus W times the language model's next-token log-probabilities.

        Args:
            log_probs: (rows, vocab) float, the translation model's.
            last_tokens: (rows, 1) long, the newest token of each row (bos first).
        """
        logits, cache = self.cache.step(last_tokens)
        return log_probs + self.weight * logits.float().log_softmax(-1), replace(self, cache=cache)

    def reorder(self, rows: Tensor) -> ShallowFusion:
        """Follow the beams as the translation model's cache does (``DecoderCache.reorder``)."""
        return replace(self, cache=self.cache.reorder(rows))
