"""seq2seq-sample and seq2seq-score on a language model directory, and each kind of model
refused by the other kind's tools."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from seq2seq.inference.language_model import LanguageModel
from tests.helpers import MAX_POSITIONS, run_command


def sample(lm_dir: Path, tmp_path: Path, *args: str) -> list[str]:
    result = run_command("seq2seq-sample", "-m", str(lm_dir), *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_the_same_seed_draws_the_same_texts(lm_dir: Path, tmp_path: Path) -> None:
    options = ["-n", "5", "--max-tokens", "12", "--top-k", "40", "--top-p", "0.9"]
    first = sample(lm_dir, tmp_path, *options, "--seed", "1")
    assert len(first) == 5 and len(set(first)) > 1
    assert sample(lm_dir, tmp_path, *options, "--seed", "1") == first
    assert sample(lm_dir, tmp_path, *options, "--seed", "2") != first


def test_top_k_one_draws_the_greedy_text_every_time(lm_dir: Path, tmp_path: Path) -> None:
    texts = sample(lm_dir, tmp_path, "-n", "3", "--top-k", "1", "--seed", "7", "--prompt", "کتاب")
    assert len(set(texts)) == 1 and texts[0].startswith("کتاب")


def test_a_prompt_too_long_for_the_model_is_one_line(lm_dir: Path, tmp_path: Path) -> None:
    prompt = " ".join(["کتاب"] * MAX_POSITIONS)
    result = run_command("seq2seq-sample", "-m", str(lm_dir), "--prompt", prompt, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: --prompt:") and "leaves no room" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_score_prints_each_lines_log_probability_and_the_perplexity(
    lm_dir: Path, tmp_path: Path
) -> None:
    lines = ["کتاب خوب است", "", "من به خانه رفتم"]
    text = tmp_path / "in.fa"
    text.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    result = run_command("seq2seq-score", "-m", str(lm_dir), "-i", str(text), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    expected = LanguageModel.load(lm_dir).score(lines)
    assert [(float(p), int(n)) for p, n in rows] == [
        (pytest.approx(s.log_prob, abs=1e-4), s.tokens) for s in expected
    ]
    total = sum(float(p) for p, _ in rows)
    tokens = sum(int(n) for _, n in rows)
    assert int(rows[1][1]) == 1  # an empty line: its eos alone
    perplexity = f"perplexity: {math.exp(-total / tokens):.2f} (3 lines, {tokens} tokens)"
    assert result.stderr.strip() == perplexity


def test_a_line_too_long_to_score_names_file_and_line(lm_dir: Path, tmp_path: Path) -> None:
    text = tmp_path / "in.fa"
    text.write_text("کتاب\n" + " ".join(["کتاب"] * MAX_POSITIONS) + "\n", encoding="utf-8")
    result = run_command("seq2seq-score", "-m", str(lm_dir), "-i", str(text), cwd=tmp_path)
    assert result.returncode == 1
    assert (
        result.stderr.startswith(f"error: {text}:2: ") and "more than the model's" in result.stderr
    )


@pytest.mark.parametrize(
    "command",
    [
        ["seq2seq-translate"],
        ["seq2seq-eval", "--src", "in.txt", "--ref", "in.txt"],
        ["seq2seq-export", "--to", "huggingface", "-o", "out"],
    ],
)
def test_translation_tools_refuse_a_language_model(lm_dir: Path, tmp_path: Path, command) -> None:
    (tmp_path / "in.txt").write_text("hello\n", encoding="utf-8")
    name, *args = command
    result = run_command(name, "-m", str(lm_dir), *args, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (
        f"error: {lm_dir}: is a language model, not a translation model: "
        "use seq2seq-sample or seq2seq-score\n"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["seq2seq-sample", "seq2seq-score"])
def test_language_model_tools_refuse_a_translation_model(model_dir: Path, tmp_path, name) -> None:
    result = run_command(name, "-m", str(model_dir), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {model_dir}: is a translation model, not a language")
    assert len(result.stderr.splitlines()) == 1


def translate(model_dir: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "seq2seq-translate"), "-m", str(model_dir), *args],
        input="the red book\nI see three cats\n", capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip


def test_fusion_with_weight_zero_translates_as_without(model_dir, lm_dir, tmp_path) -> None:
    plain = translate(model_dir, tmp_path, "--beam", "3", "--nbest", "3")
    fused = translate(model_dir, tmp_path, "--beam", "3", "--nbest", "3",
                      "--lm", str(lm_dir), "--lm-weight", "0")  # fmt: skip
    assert plain.returncode == fused.returncode == 0, fused.stderr
    assert fused.stdout == plain.stdout
    heavy = translate(model_dir, tmp_path, "--beam", "3", "--lm", str(lm_dir), "--lm-weight", "5")
    assert (
        heavy.returncode == 0
        and heavy.stdout != translate(model_dir, tmp_path, "--beam", "3").stdout
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lm-weight", "0.2"], "--lm and --lm-weight go together"),
        (["--lm", "LM", "--lm-weight", "0.2", "--sample"], "--lm is fused into beam search"),
    ],
)
def test_fusion_arguments_that_cannot_work_are_usage_errors(
    model_dir, lm_dir, tmp_path, args, message
) -> None:
    args = [str(lm_dir) if a == "LM" else a for a in args]
    result = translate(model_dir, tmp_path, *args)
    assert result.returncode == 2 and message in result.stderr


def test_a_translation_model_is_not_a_language_model_to_fuse(model_dir, tmp_path) -> None:
    result = translate(model_dir, tmp_path, "--lm", str(model_dir), "--lm-weight", "0.2")
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {model_dir}: is a translation model, not a language")


def test_per_token_gives_a_probability_per_token(lm_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "in.fa").write_text("کتاب قرمز\nسه گربه\n", encoding="utf-8")
    result = run_command("seq2seq-score", "-m", str(lm_dir), "-i", "in.fa", "--per-token",
                         cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    for line in result.stdout.splitlines():
        log_prob, tokens, probabilities = line.split("\t")
        probs = [float(p) for p in probabilities.split()]
        assert len(probs) == int(tokens)
        assert sum(map(math.log, probs)) == pytest.approx(float(log_prob), abs=1e-2)
