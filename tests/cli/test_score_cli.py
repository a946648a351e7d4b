"""seq2seq-score with a translation model (forced decoding): a given translation's
log-probability and the score beam search gives it, per pair and per token."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from seq2seq.inference.translator import Translator
from tests.helpers import run_command

SOURCES = ["the red book is here", "three cats", "", "a small house near the tree"]


def score(model: Path, tmp_path: Path, targets: list[str], *args: str):
    (tmp_path / "src.en").write_text("".join(f"{s}\n" for s in SOURCES), encoding="utf-8")
    (tmp_path / "tgt.fa").write_text("".join(f"{t}\n" for t in targets), encoding="utf-8")
    return run_command("seq2seq-score", "-m", str(model), "--src", "src.en", "--tgt", "tgt.fa",
                       *args, cwd=tmp_path)  # fmt: skip


@pytest.mark.parametrize("model", ["model_dir", "decoder_only_dir"])
def test_each_pair_gets_the_translators_forced_decoding_score(
    model: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Beam search's own outputs get its scores: tests/inference/test_forced.py."""
    directory = request.getfixturevalue(model)
    targets = ["کتاب قرمز اینجا است", "سه گربه", "", "یک خانه کوچک"]
    result = score(directory, tmp_path, targets, "--alpha", "0.6")
    assert result.returncode == 0, result.stderr
    expected = Translator.load(directory).score(SOURCES, targets, alpha=0.6)
    rows = [[float(x) for x in line.split("\t")] for line in result.stdout.splitlines()]
    assert rows == [pytest.approx([e.log_prob, e.score], abs=1e-4) for e in expected]
    for pair, target in zip(expected, targets, strict=True):  # the length penalty divides
        assert pair.score > pair.log_prob if target else pair.score == pair.log_prob
    assert "perplexity:" in result.stderr and "4 pairs" in result.stderr


def test_per_token_probabilities_multiply_to_the_pair_probability(model_dir, tmp_path) -> None:
    targets = ["کتاب قرمز", "سه گربه", "", "خانه"]
    result = score(model_dir, tmp_path, targets, "--per-token", "--alpha", "0")
    assert result.returncode == 0, result.stderr
    translator = Translator.load(model_dir)
    for line, target in zip(result.stdout.splitlines(), targets, strict=True):
        total, normalized, probabilities = line.split("\t")
        probs = [float(p) for p in probabilities.split()]
        (ids,) = translator.loaded.tgt_tokenizer.encode([translator.loaded.tgt_normalizer(target)])
        assert len(probs) == len(ids) + 1  # eos last
        assert math.log(math.prod(probs)) == pytest.approx(float(total), abs=1e-2)
        assert float(normalized) == pytest.approx(float(total))  # alpha 0: no length penalty


def test_files_of_different_lengths_name_the_shorter_and_its_line(model_dir, tmp_path) -> None:
    result = score(model_dir, tmp_path, ["کتاب", "گربه"])
    assert result.returncode == 1
    expected = "error: tgt.fa:3: ends here, before src.en: one translation per source\n"
    assert result.stderr == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--src", "a"], "--src and --tgt go together"),
        (["--src", "a", "--tgt", "b", "-i", "c"], "-i is a language model's text"),
    ],
)
def test_arguments_that_do_not_go_together_are_usage_errors(model_dir, tmp_path, args, message):
    result = run_command("seq2seq-score", "-m", str(model_dir), *args, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr


def test_a_language_model_with_sources_is_one_line(lm_dir: Path, tmp_path: Path) -> None:
    result = score(lm_dir, tmp_path, ["a", "b", "c", "d"])
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {lm_dir}: is a language model, not a translation")
    assert len(result.stderr.splitlines()) == 1
