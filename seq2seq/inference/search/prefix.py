"""A forced target prefix: every output of a sentence begins with given target tokens, and
decoding goes on from there (interactive post-editing: the translator accepts the first words
and asks the model for the rest)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from seq2seq.common.special import PAD_ID
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.search.scorers import Scorer
from seq2seq.inference.search.state import SearchState
from seq2seq.inference.search.stepwise import max_lengths


@dataclass(frozen=True)
class Prefixes:
    """The target tokens each sentence's output begins with: a rule of the search
    (``seq2seq.inference.search.rules``).

    Attributes:
        tokens: (batch, longest) long, right-padded with ``PAD_ID``.
        lengths: (batch,) long, 0 for a sentence without a prefix.
    """

    tokens: Tensor
    lengths: Tensor

    @classmethod
    def of(cls, prefixes: list[list[int]], *, device: torch.device | str = "cpu") -> Prefixes:
        """From each sentence's prefix ids (an empty list: none)."""
        longest = max(map(len, prefixes), default=0)
        tokens = torch.full((len(prefixes), longest), PAD_ID, dtype=torch.long)
        for row, ids in enumerate(prefixes):
            tokens[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        lengths = torch.tensor([len(ids) for ids in prefixes], dtype=torch.long)
        return cls(tokens.to(device), lengths.to(device))

    def limits(self, src_tokens: Tensor, options: DecodingOptions, *, scorer: Scorer) -> Tensor:
        """Each output's most tokens (``max_lengths``), widened to hold its prefix."""
        return max_lengths(src_tokens, options, scorer=scorer, at_least=self.lengths)

    def __call__(self, log_probs: Tensor, state: SearchState) -> Tensor:
        return self.force(log_probs, step=state.step, sentences=state.sentences)

    def force(self, scores: Tensor, *, step: int, sentences: Tensor) -> Tensor:
        """Each row still inside its sentence's prefix keeps only the prefix token's score
        (the others become -inf), so that search takes it at its true probability.

        Args:
            scores: (rows, vocab) logits or log-probabilities of the next token.
            step: the output position being chosen (0 first).
            sentences: (rows,) long, the sentence each row decodes.
        """
        if step >= self.tokens.size(1):
            return scores
        forced = self.lengths[sentences] > step
        if not bool(forced.any()):
            return scores
        token = self.tokens[sentences, step][:, None]
        only = torch.full_like(scores, -math.inf).scatter_(1, token, scores.gather(1, token))
        return torch.where(forced[:, None], only, scores)
