"""Corpus BLEU, chrF and TER through sacrebleu, with its signatures and significance tests."""

from __future__ import annotations

from dataclasses import dataclass

from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.metrics.bleu import BLEUScore
from sacrebleu.significance import PairedTest


@dataclass(frozen=True)
class Scores:
    """Corpus-level scores of one system on one test set."""

    bleu: float
    chrf: float
    bleu_signature: str
    chrf_signature: str


def corpus_scores(hypotheses: list[str], references: list[str]) -> Scores:
    """BLEU and chrF of detokenized ``hypotheses`` against one reference each."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    bleu, chrf = BLEU(), CHRF()
    bleu_score = bleu.corpus_score(hypotheses, [references])
    chrf_score = chrf.corpus_score(hypotheses, [references])
    return Scores(
        bleu=bleu_score.score,
        chrf=chrf_score.score,
        bleu_signature=str(bleu.get_signature()),
        chrf_signature=str(chrf.get_signature()),
    )


@dataclass(frozen=True)
class SystemScores:
    """BLEU, chrF and TER of one system; with a baseline, the paired bootstrap p-values.

    ``p_values`` maps "bleu", "chrf", "ter" to the probability of a difference at least this
    large from the baseline (the first system) by chance; empty for the baseline itself.
    ``length_ratio`` is the output's length over the references' in BLEU's tokens (what its
    brevity penalty sees): below 1 too short, above 1 too long or repeating itself.
    """

    bleu: float
    chrf: float
    ter: float
    length_ratio: float
    p_values: dict[str, float]


def length_ratio(hypotheses: list[str], references: list[str]) -> float:
    """Output tokens / reference tokens, tokenized as BLEU tokenizes (13a)."""
    return _ratio(BLEU().corpus_score(hypotheses, [references]))


def _ratio(bleu: BLEUScore) -> float:
    return bleu.sys_len / bleu.ref_len if bleu.ref_len else 0.0


METRIC_NAMES = {"BLEU": "bleu", "chrF2": "chrf", "TER": "ter"}


def score_systems(
    systems: list[list[str]], references: list[str], *, bootstrap_samples: int = 1000
) -> tuple[list[SystemScores], dict[str, str]]:
    """Scores of each system's detokenized hypotheses against one reference each.

    With two or more systems, sacrebleu's paired bootstrap resampling compares each with the
    first (seeded through ``SACREBLEU_SEED``, 12345 by default, so results repeat).

    Returns:
        one SystemScores per system, and the sacrebleu signature of each metric by name.
    """
    for hypotheses in systems:
        if len(hypotheses) != len(references):
            raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    metrics = {"BLEU": BLEU(), "chrF2": CHRF(), "TER": TER()}
    if len(systems) == 1:
        return [_single(metrics, systems[0], references)], _signatures(metrics)
    test = PairedTest(
        [(str(i), hyps) for i, hyps in enumerate(systems)], metrics, [references],
        test_type="bs", n_samples=bootstrap_samples,
    )  # fmt: skip
    signatures, results = test()
    rows = []
    for index in range(len(systems)):
        by_metric = {METRIC_NAMES[name]: results[name][index] for name in metrics}
        p_values = {} if index == 0 else {k: r.p_value for k, r in by_metric.items()}
        ratio = length_ratio(systems[index], references)
        scores = {k: r.score for k, r in by_metric.items()}
        rows.append(SystemScores(**scores, length_ratio=ratio, p_values=p_values))
    return rows, {METRIC_NAMES[name]: str(sig) for name, sig in signatures.items()}


def _single(metrics: dict, hypotheses: list[str], references: list[str]) -> SystemScores:
    results = {
        METRIC_NAMES[name]: metric.corpus_score(hypotheses, [references])
        for name, metric in metrics.items()
    }
    scores = {name: result.score for name, result in results.items()}
    return SystemScores(**scores, length_ratio=_ratio(results["bleu"]), p_values={})


def _signatures(metrics: dict) -> dict[str, str]:
    return {METRIC_NAMES[name]: str(metric.get_signature()) for name, metric in metrics.items()}
