"""Scores are sacrebleu's own; two systems get paired bootstrap p-values."""

from __future__ import annotations

import pytest
import sacrebleu

from seq2seq.evaluation.metrics import score_systems

REFERENCES = ["the cat sat on the mat", "a dog runs fast today", "hello world", "it is late"] * 4
GOOD = ["the cat sat on a mat", "a dog runs fast", "hello world", "it is late now"] * 4
BAD = ["cat mat", "dog", "hi there", "late"] * 4


def test_scores_equal_sacrebleu_called_directly() -> None:
    (scores,), signatures = score_systems([GOOD], REFERENCES)
    assert scores.bleu == pytest.approx(sacrebleu.corpus_bleu(GOOD, [REFERENCES]).score)
    assert scores.chrf == pytest.approx(sacrebleu.corpus_chrf(GOOD, [REFERENCES]).score)
    assert scores.ter == pytest.approx(sacrebleu.corpus_ter(GOOD, [REFERENCES]).score)
    assert signatures["bleu"].startswith("nrefs:1|") and "tok:13a" in signatures["bleu"]
    assert scores.p_values == {}


def test_a_clearly_worse_second_system_differs_significantly() -> None:
    (good, bad), signatures = score_systems([GOOD, BAD], REFERENCES)
    assert good.p_values == {} and bad.bleu < good.bleu
    assert set(bad.p_values) == {"bleu", "chrf", "ter"}
    assert all(p < 0.05 for p in bad.p_values.values())
    assert "bs:1000" in signatures["chrf"]


def test_a_one_word_change_is_not_significant() -> None:
    close = [*GOOD[:-1], "it is late"]
    (_, other), _ = score_systems([GOOD, close], REFERENCES)
    assert all(p > 0.05 for p in other.p_values.values())


def test_hypothesis_count_must_match_references() -> None:
    with pytest.raises(ValueError, match="3 hypotheses but 16 references"):
        score_systems([GOOD[:3]], REFERENCES)


def test_the_length_ratio_counts_output_against_reference_tokens() -> None:
    (same, short, repeated), _ = score_systems(
        [REFERENCES, [r.split()[0] for r in REFERENCES], [f"{r} {r}" for r in REFERENCES]],
        REFERENCES,
    )
    assert same.length_ratio == 1.0 and repeated.length_ratio == 2.0
    assert short.length_ratio == pytest.approx(4 / 16)  # one word of 6, 5, 2 and 3
    ((alone,), _) = score_systems([BAD], REFERENCES)
    assert alone.length_ratio == pytest.approx(6 / 16)  # 2 + 1 + 2 + 1 words of 16
