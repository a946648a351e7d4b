"""Detokenize decoded ids and score them against the raw references of a split."""

from __future__ import annotations

from collections.abc import Callable

from seq2seq.evaluation.metrics import Scores, corpus_scores


class TranslationScorer:
    """Scores hypotheses (token ids by example index) for the splits it has references for.

    Args:
        detokenize: target ids per sentence -> text.
        references: split name -> reference lines (the raw text, as users score it).
        test_splits: the test split names, in the order of the test dataloaders.
    """

    def __init__(
        self,
        detokenize: Callable[[list[list[int]]], list[str]],
        references: dict[str, list[str]],
        test_splits: list[str],
    ) -> None:
        self.detokenize = detokenize
        self.references = references
        self.test_splits = test_splits

    def score(self, split: str, hypotheses: dict[int, list[int]]) -> Scores:
        """Corpus scores over the examples decoded (all of them, or a capped prefix)."""
        indices = sorted(hypotheses)
        texts = self.detokenize([hypotheses[i] for i in indices])
        references = [self.references[split][i] for i in indices]
        return corpus_scores(texts, references)
