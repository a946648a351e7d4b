"""The state of a search: the hypotheses so far and every part that follows them, moved on
by one call (fairseq's ``reorder_incremental_state``, transformers' ``reorder_cache``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from seq2seq.common.special import BOS_ID
from seq2seq.inference.search.scorers import Scorer, ScorerState


class Follower(Protocol):
    """A stateful part of the search besides the scorers (a selector's per-row state)."""

    def advance(self, rows: Tensor | None, tokens: Tensor) -> Follower:
        """The part after row ``rows[i]`` went on with ``tokens[i]`` as new row i (None:
        each row went on as it is); as ``ScorerState.step``."""
        ...


@dataclass(frozen=True)
class SearchState:
    """The rows of a search, each one hypothesis of one source sentence.

    Attributes:
        tokens: (rows, 1 + step) long, each row's tokens so far, bos first.
        scores: (rows,) float, each row's log-probability so far (its score).
        sentences: (rows,) long, the source sentence each row decodes.
        scorer: the scorers' state, row for row.
        follower: the selector's state, row for row (beam search); None.
    """

    tokens: Tensor
    scores: Tensor
    sentences: Tensor
    scorer: ScorerState
    follower: Follower | None = None

    @classmethod
    def start(
        cls,
        scorer: Scorer,
        src_tokens: Tensor,
        *,
        reserve: int,
        follower: Follower | None = None,
        exact: bool = True,
    ) -> tuple[Tensor, SearchState]:
        """The first token's log-probabilities (batch, vocab) and the state: one row per
        source sentence, bos alone, score 0; ``exact`` as in ``Scorer.start``."""
        log_probs, scorer_state = scorer.start(src_tokens, reserve=reserve, exact=exact)
        batch, device = src_tokens.size(0), src_tokens.device
        tokens = torch.full((batch, 1), BOS_ID, dtype=torch.long, device=device)
        scores = torch.zeros(batch, device=device)
        sentences = torch.arange(batch, device=device)
        return log_probs, cls(tokens, scores, sentences, scorer_state, follower)

    @property
    def step(self) -> int:
        """The output position the next token fills (0 first)."""
        return self.tokens.size(1) - 1

    def advance(
        self, rows: Tensor | None, tokens: Tensor, scores: Tensor
    ) -> tuple[Tensor, SearchState]:
        """The one reorder: new row i continues row ``rows[i]`` with ``tokens[i]`` at score
        ``scores[i]`` (rows None: every row goes on), and every part follows.

        Returns:
            the next token's log-probabilities (new_rows, vocab) and the new state.
        """
        log_probs, scorer = self.scorer.step(rows, tokens)
        kept, sentences = self.tokens, self.sentences
        if rows is not None:
            kept, sentences = kept.index_select(0, rows), sentences.index_select(0, rows)
        state = SearchState(
            torch.cat([kept, tokens[:, None]], 1), scores, sentences, scorer,
            None if self.follower is None else self.follower.advance(rows, tokens),
        )  # fmt: skip
        return log_probs, state
