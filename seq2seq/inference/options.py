"""How to decode: the one definition of the decoding options and their defaults.

The translator, the CLIs (``seq2seq-translate``, ``seq2seq-eval``) and the decoding of dev and
test sets during training (``conf/decoding/``) all take a ``DecodingOptions``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from seq2seq.common.errors import ConfigError


@dataclass(frozen=True)
class Sampling:
    """Draw each next token instead of searching.

    Attributes:
        temperature: divides the logits (> 0; below 1 sharpens, above 1 flattens).
        top_k: only the k likeliest tokens (0: all).
        top_p: only the likeliest tokens whose probabilities sum to top_p (nucleus; 1: all).
        seed: the same seed draws the same translations.
    """

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.temperature <= 0 or not 0 < self.top_p <= 1 or self.top_k < 0:
            raise ConfigError("sampling: need temperature > 0, 0 < top_p <= 1 and top_k >= 0")


@dataclass(frozen=True)
class DecodingOptions:
    """Search, length limits and batching of one decoding.

    Attributes:
        beam_size: hypotheses kept alive per sentence; 1 is greedy search.
        nbest: candidates returned per sentence, best first (at most ``beam_size``).
        alpha: length-penalty exponent of beam search (0: raw log-probability).
        max_len_a, max_len_b: at most a * src_len + b output tokens (eos excluded).
        min_len: eos is not allowed before this many tokens.
        max_batch_tokens: source tokens per batch, padding included.
        sampling: draw one translation per sentence instead of searching (None: search).
    """

    beam_size: int = 5
    nbest: int = 1
    alpha: float = 1.0
    max_len_a: float = 1.5
    max_len_b: int = 10
    min_len: int = 1
    max_batch_tokens: int = 4096
    sampling: Sampling | None = None

    def __post_init__(self) -> None:
        if min(self.beam_size, self.nbest, self.max_batch_tokens) < 1:
            raise ConfigError("decoding: beam_size, nbest and max_batch_tokens must be >= 1")
        if self.nbest > self.beam_size:
            raise ConfigError(
                f"decoding: nbest ({self.nbest}) exceeds beam_size ({self.beam_size})"
            )
        if self.sampling is not None and self.nbest > 1:
            raise ConfigError("decoding: sampling draws one translation per sentence, not nbest")
        if self.max_len_a < 0 or self.max_len_b < 0 or self.min_len < 0:
            raise ConfigError("decoding: max_len_a, max_len_b and min_len must be >= 0")

    @classmethod
    def from_config(cls, values: Mapping[str, Any]) -> DecodingOptions:
        """From a ``conf/decoding/*.yaml`` mapping (``sampling``: null or its fields)."""
        values = dict(values)
        sampling = values.pop("sampling", None)
        try:
            return cls(**values, sampling=Sampling(**sampling) if sampling else None)
        except TypeError as error:
            raise ConfigError(f"decoding: {error}") from None
