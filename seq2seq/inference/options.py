"""How to decode: the one definition of the decoding options and their defaults.

The translator, the CLIs (``seq2seq-translate``, ``seq2seq-eval``, ``seq2seq-serve``), the
server's native API and the decoding of dev and test sets during training (``conf/decoding/``)
all take a ``DecodingOptions``. Each field carries its help in its metadata, from which the
command-line flags (``seq2seq.cli.common``) and the server's request model
(``seq2seq.serve.native``) are built: an option is written here once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from seq2seq.common.errors import ConfigError


def about(help: str, *, flag: str | None = None, positive: bool = False) -> dict[str, Any]:
    """The metadata of a decoding option's field, which the CLIs and the server read.

    Args:
        help: what the option does, for ``--help`` and the server's API document.
        flag: its command-line flag where that is not the field's name (``--beam`` for
            ``beam_size``); None: ``--`` and the name with dashes.
        positive: at least 1, checked by argparse and by the request model before the
            dataclass sees it.
    """
    return {"help": help, "flag": flag, "positive": positive}


@dataclass(frozen=True)
class Sampling:
    """Draw each next token instead of searching (each field's help is in its metadata)."""

    temperature: float = field(
        default=1.0, metadata=about("divides the logits (> 0; below 1 sharpens, above 1 flattens)")
    )
    top_k: int = field(default=0, metadata=about("only the k likeliest tokens (0: all; 1: greedy)"))
    top_p: float = field(
        default=1.0,
        metadata=about("nucleus: only the likeliest tokens whose probabilities sum to P (1: all)"),
    )
    seed: int = field(default=0, metadata=about("same seed, same output"))

    def __post_init__(self) -> None:
        if self.temperature <= 0 or not 0 < self.top_p <= 1 or self.top_k < 0:
            raise ConfigError("sampling: need temperature > 0, 0 < top_p <= 1 and top_k >= 0")


@dataclass(frozen=True)
class DecodingOptions:
    """Search, length limits and batching of one decoding (each field's help is in its
    metadata)."""

    beam_size: int = field(
        default=5,
        metadata=about(
            "beam size: hypotheses kept per sentence; 1 = greedy", flag="--beam", positive=True
        ),
    )
    nbest: int = field(
        default=1,
        metadata=about(
            "candidates per sentence, best first, each with its score (at most the beam size)",
            positive=True,
        ),
    )
    alpha: float = field(
        default=1.0,
        metadata=about("length-penalty exponent of beam search (0: raw log-probability)"),
    )
    max_len_a: float = field(
        default=1.5, metadata=about("A of: at most A * source tokens + B output tokens")
    )
    max_len_b: int = field(
        default=10, metadata=about("B of: at most A * source tokens + B output tokens")
    )
    min_len: int = field(default=1, metadata=about("no end of sentence before this many tokens"))
    max_batch_tokens: int = field(
        default=4096,
        metadata=about("source tokens per decoding batch, padding included", positive=True),
    )
    sampling: Sampling | None = field(
        default=None, metadata=about("draw a translation instead of searching", flag="--sample")
    )

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
