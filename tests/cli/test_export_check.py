"""seq2seq-export --check: the export translates a file as our model does, or says how far
it is, and fails below the agreement asked for."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from seq2seq.cli.export import report_check
from seq2seq.export.check import ExportCheck
from tests.helpers import run_command

LINES = "the red book\n\nthree cats sleep\na small house near the old tree\nred\n"


@pytest.mark.parametrize("to", ["huggingface", "ctranslate2"])
def test_an_fp32_export_translates_every_line_as_we_do(model_dir, tmp_path, to) -> None:
    (tmp_path / "check.en").write_text(LINES, encoding="utf-8")
    result = run_command("seq2seq-export", "-m", str(model_dir), "--to", to, "-o", "out",
                         "--check", "check.en", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "check check.en: 100.0% of 4 lines agree; the export's output against ours: " \
           "BLEU 100.00, chrF 100.00" in result.stdout  # fmt: skip


def test_an_int8_export_is_compared_without_failing(model_dir, tmp_path) -> None:
    (tmp_path / "check.en").write_text(LINES, encoding="utf-8")
    result = run_command("seq2seq-export", "-m", str(model_dir), "--to", "ctranslate2",
                         "-o", "out", "--quantization", "int8", "--check", "check.en",
                         cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "of 4 lines agree" in result.stdout


def arguments(**changes) -> argparse.Namespace:
    defaults = {"check": Path("check.en"), "min_agreement": None, "quantization": None}
    return argparse.Namespace(**(defaults | changes))


DIFFERENT = ExportCheck(lines=100, agreement=0.95, bleu=90.0, chrf=95.0, first_difference=7)


def test_below_the_agreement_is_an_error_but_int8_only_reports(capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        report_check(DIFFERENT, arguments())
    assert stopped.value.code == 1
    out, err = capsys.readouterr()
    assert "95.0% of 100 lines agree; the first that differs: line 7" in out
    assert err == "error: 95.0% of the lines agree, below --min-agreement 0.99\n"
    report_check(DIFFERENT, arguments(quantization="int8"))  # no exit
    report_check(DIFFERENT, arguments(min_agreement=0.9))
    with pytest.raises(SystemExit):
        report_check(DIFFERENT, arguments(quantization="int8_float32", min_agreement=0.97))


def test_a_missing_check_file_or_a_share_out_of_range_is_a_usage_error(model_dir, tmp_path):
    base = ["seq2seq-export", "-m", str(model_dir), "--to", "ctranslate2", "-o", "out"]
    missing = run_command(*base, "--check", "nope.en", cwd=tmp_path)
    assert missing.returncode == 2 and "--check nope.en: no such file" in missing.stderr
    (tmp_path / "check.en").write_text(LINES, encoding="utf-8")
    wrong = run_command(*base, "--check", "check.en", "--min-agreement", "99", cwd=tmp_path)
    assert wrong.returncode == 2 and "a share between 0 and 1" in wrong.stderr
    assert not (tmp_path / "out").exists()
