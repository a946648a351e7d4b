"""LanguageModel: text continued and text scored by a language model directory, with its
normalization and tokenizer."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from seq2seq.inference.generate import continue_prompt, token_log_probabilities
from seq2seq.inference.options import Sampling
from seq2seq.inference.runtime.precision import prepare_for_decoding
from seq2seq.inference.search.stepwise import drawing
from seq2seq.modeldir.format import LANGUAGE_MODEL, LoadedModel, load_model_dir


@dataclass(frozen=True)
class LineScore:
    """A line's natural-log probability under the model, and the probability of each of its
    tokens, eos last."""

    log_prob: float
    token_probs: list[float]

    @property
    def tokens(self) -> int:
        """The tokens scored, eos included."""
        return len(self.token_probs)


def perplexity(scores: list[LineScore]) -> float:
    """exp of the mean negative log-probability per token over all ``scores``."""
    tokens = sum(s.tokens for s in scores)
    return math.exp(-sum(s.log_prob for s in scores) / tokens) if tokens else math.nan


class LineTooLong(ValueError):
    """A line has more tokens than the model has positions for (it would not be scored whole).

    Attributes:
        index: the line's 0-based index in the list scored.
        tokens: its tokens, eos included.
        limit: the most the model scores.
    """

    def __init__(self, index: int, tokens: int, limit: int) -> None:
        self.index, self.tokens, self.limit = index, tokens, limit
        super().__init__(f"{tokens} tokens, more than the model's {limit}")


class LanguageModel:
    """Samples continuations of a prompt and scores lines, in the target language of the
    model directory (its normalization and SentencePiece model)."""

    def __init__(self, loaded: LoadedModel, *, device: torch.device | str = "cpu") -> None:
        self.loaded = loaded
        self.device = torch.device(device)
        self.model = prepare_for_decoding(loaded.model, precision="fp32", device=self.device)

    @classmethod
    def load(cls, model_dir: Path | str, *, device: torch.device | str = "cpu") -> LanguageModel:
        """Raises ``DataError`` for anything but a language model directory."""
        return cls(load_model_dir(model_dir, task=LANGUAGE_MODEL), device=device)

    def _ids(self, texts: list[str]) -> list[list[int]]:
        normalize = self.loaded.tgt_normalizer
        return self.loaded.tgt_tokenizer.encode([normalize(t) for t in texts])

    def sample(self, prompt: str, *, count: int, max_tokens: int, sampling: Sampling) -> list[str]:
        """``count`` texts that begin with ``prompt`` (normalized) and go on for at most
        ``max_tokens`` tokens each, drawn as ``sampling`` says (its seed: the same texts)."""
        prompt_ids = self._ids([prompt])[0] if prompt else []
        generator = torch.Generator(self.device).manual_seed(sampling.seed)
        continued = continue_prompt(
            self.model, prompt_ids, count=count, max_tokens=max_tokens,
            choose=drawing(sampling, generator=generator),
        )  # fmt: skip
        return self.loaded.tgt_tokenizer.decode([prompt_ids + ids for ids in continued])

    def score(self, lines: list[str], *, max_batch_tokens: int = 8192) -> list[LineScore]:
        """Each line's log-probability: of its tokens (normalized and segmented as in
        training) and of the end of sentence after them.

        Raises:
            LineTooLong: for the first line longer than the model's positions allow.
        """
        ids = self._ids(lines)
        limit = self.model.cfg.max_positions
        for index, line_ids in enumerate(ids):
            if len(line_ids) + 1 > limit:
                raise LineTooLong(index, len(line_ids) + 1, limit)
        per_token = token_log_probabilities(self.model, ids, max_batch_tokens=max_batch_tokens)
        return [LineScore(float(scores.sum()), scores.exp().tolist()) for scores in per_token]
