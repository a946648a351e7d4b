"""seq2seq-prepare as a user runs it: summary, the no-op second run, one-line errors."""

from __future__ import annotations

from pathlib import Path

from tests.data.corpus import write_pairs
from tests.helpers import run_command, shared_en_fa


def test_prepare_shared_en_fa_then_nothing_to_do(tmp_path: Path) -> None:
    args = ("experiment=en_fa_tiny", f"data.root={shared_en_fa()}", "tokenizer.vocab_size=2000")
    first = run_command("seq2seq-prepare", *args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    expected = ["train (read)", "16,622", "dropped: in a dev or test set", "valid", "test.tico19"]
    expected += ["test.software-ui", "test.tech-docs", "vocabulary: joint 2,000"]
    for text in expected:
        assert text in first.stdout
    assert "train (with 7 sampled copies)" in first.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data-cache"]

    second = run_command("seq2seq-prepare", *args, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "Prepared data is up to date, nothing to do" in second.stdout
    assert "train (read)" not in second.stdout


def test_bad_data_is_one_line_without_traceback(tmp_path: Path) -> None:
    root = tmp_path / "en-fa"
    pairs = [("hello", "سلام")] * 3
    layout = {"train": ["tatoeba", "tico19-dev", "software-ui", "tech-docs"]}
    layout["dev"] = ["flores200-dev"]
    layout["test"] = ["tico19-test", "tatoeba-test", "idioms"]
    for split, names in layout.items():
        for name in names:
            write_pairs(root / split, name, pairs)
    (root / "train" / "tico19-dev.fa").write_text("سلام\n", encoding="utf-8")
    result = run_command(
        "seq2seq-prepare",
        "experiment=en_fa_tiny",
        f"data.root={root}",
        "data.test={}",
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: {root}/train/tico19-dev.en: has 3 lines but {root}/train/tico19-dev.fa has 1: "
        "parallel files must be line-aligned (first unpaired line: 2)"
    )
    assert "Traceback" not in result.stderr


def test_missing_data_root_says_how_to_get_it(tmp_path: Path) -> None:
    result = run_command("seq2seq-prepare", "experiment=en_fa_tiny", cwd=tmp_path)
    assert result.returncode == 1
    assert "data root not found: run recipes/en-fa/run.sh --download data" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_configuration_that_cannot_work_is_one_line(tmp_path: Path) -> None:
    result = run_command(
        "seq2seq-prepare", "experiment=en_fa_tiny", f"data.root={shared_en_fa()}",
        "tokenizer.model_type=bpe", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr == "error: tokenizer: sampled_copies needs model_type unigram\n"
