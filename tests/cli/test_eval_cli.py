"""seq2seq-eval as a user runs it: models and output files, test sets, JSON, bad input."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sacrebleu

from seq2seq.cli.eval import parse_args
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.translator import Translator
from tests.helpers import like_a_terminal, run_command, shared_en_fa

SOURCES = ["the red book is here", "three cats sleep now", "the tree is tall", "a small house"]
REFERENCES = ["کتاب قرمز اینجا است", "سه گربه الان می‌خوابند", "درخت بلند است", "یک خانه کوچک"]


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "src.en").write_text("".join(f"{s}\n" for s in SOURCES), encoding="utf-8")
    (tmp_path / "ref.fa").write_text("".join(f"{r}\n" for r in REFERENCES), encoding="utf-8")
    hyps = ["کتاب قرمز اینجا است", "سه گربه ها", "درخت بلند است", "خانه"]
    (tmp_path / "hyp.fa").write_text("".join(f"{h}\n" for h in hyps), encoding="utf-8")
    return tmp_path


def evaluate(cwd: Path, *args: str):
    result = run_command("seq2seq-eval", *args, "--json", "out.json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result, json.loads((cwd / "out.json").read_text())


def test_model_bleu_equals_sacrebleu_on_its_translations(model_dir: Path, files: Path) -> None:
    result, reports = evaluate(files, "-m", str(model_dir), "--src", "src.en", "--ref", "ref.fa",
                               "--beam", "2")  # fmt: skip
    (system,) = reports[0]["systems"]
    output = Translator.load(model_dir).translate(SOURCES, options=DecodingOptions(beam_size=2))
    assert system["bleu"] == pytest.approx(sacrebleu.corpus_bleu(output, [REFERENCES]).score)
    assert system["chrf"] == pytest.approx(sacrebleu.corpus_chrf(output, [REFERENCES]).score)
    assert system["seconds"] > 0 and system["sentences_per_second"] > 0
    assert reports[0]["direction"] == "en-fa" and reports[0]["sentences"] == 4
    assert "BLEU" in result.stdout and "bleu signature: nrefs:1|" in result.stdout
    assert str(model_dir) in result.stdout  # whole, in a table written to a pipe


def test_output_files_are_compared_with_paired_bootstrap(model_dir: Path, files: Path) -> None:
    result, reports = evaluate(files, "--hyp", "ref.fa", "--hyp", "hyp.fa",
                               "--src", "src.en", "--ref", "ref.fa")  # fmt: skip
    perfect, other = reports[0]["systems"]
    assert perfect["bleu"] == pytest.approx(100.0) and perfect["seconds"] is None
    hyps = (files / "hyp.fa").read_text(encoding="utf-8").splitlines()
    assert other["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [REFERENCES]).score)
    assert set(other["p_values"]) == {"bleu", "chrf", "ter"}
    assert "paired bootstrap" in result.stdout and "bs:1000" in reports[0]["signatures"]["bleu"]


def test_catalog_test_sets_by_name(tmp_path: Path) -> None:
    root = shared_en_fa()
    reference = root / "test" / "idioms.fa"
    _, reports = evaluate(tmp_path, "--hyp", str(reference), "-t", "idioms",
                          "-l", "en-fa", "--data-root", str(root))  # fmt: skip
    assert reports[0]["testset"] == "idioms" and reports[0]["sentences"] == 200
    assert reports[0]["systems"][0]["bleu"] == pytest.approx(100.0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hyp", "missing.fa"], "error: missing.fa: file not found"),
        (["--hyp", "short.fa"], "error: short.fa: 2 lines but the reference ref.fa has 4"),
        (["--hyp", "empty.fa"], "error: empty.fa: empty system output"),
        (["--hyp", "binary.fa"], "error: binary.fa:1: invalid UTF-8 at byte 127 of the line"),
    ],
)
def test_bad_system_output_gets_one_line(files: Path, args: list[str], message: str) -> None:
    (files / "short.fa").write_text("a\nb\n", encoding="utf-8")
    (files / "empty.fa").write_text("\n\n\n\n", encoding="utf-8")
    (files / "binary.fa").write_bytes(bytes(range(10)) + bytes(range(11, 256)) + b"\n" * 3)
    result = run_command("seq2seq-eval", *args, "--src", "src.en", "--ref", "ref.fa", cwd=files)
    assert result.returncode == 1
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


def test_reference_of_another_length_than_the_source(files: Path) -> None:
    (files / "long.fa").write_text("a\n" * 5, encoding="utf-8")
    result = run_command("seq2seq-eval", "--hyp", "hyp.fa", "--src", "src.en", "--ref", "long.fa",
                         cwd=files)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr == "error: long.fa: 5 lines but the source src.en has 4\n"


@pytest.mark.parametrize(
    "args",
    [
        ["--src", "src.en", "--ref", "ref.fa"],  # no system
        ["--hyp", "hyp.fa"],  # no test set
        ["--hyp", "hyp.fa", "-t", "idioms"],  # no direction for an output file
        ["--hyp", "hyp.fa", "-t", "idioms", "-t", "tico19-test", "-l", "en-fa"],
        ["-m", "not-a-model", "--src", "src.en", "--ref", "ref.fa"],
        ["--hyp", "hyp.fa", "--src", "src.en", "--ref", "ref.fa", "--beam", "0"],
    ],
)
def test_usage_errors_exit_with_status_2(files: Path, args: list[str]) -> None:
    result = run_command("seq2seq-eval", *args, cwd=files)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("seq2seq-eval: error:")


def test_invalid_utf8_names_line_and_byte_or_is_replaced(files: Path) -> None:
    (files / "bad.fa").write_bytes("کتاب قرمز اینجا است\n".encode() + b"bad \xff\n" + b"x\ny\n")
    args = ["--hyp", "bad.fa", "--src", "src.en", "--ref", "ref.fa"]
    result = run_command("seq2seq-eval", *args, cwd=files)
    assert result.returncode == 1
    assert result.stderr.startswith("error: bad.fa:2: invalid UTF-8 at byte 4 of the line")
    assert run_command("seq2seq-eval", *args, "--errors", "replace", cwd=files).returncode == 0


def test_ctrl_c_and_a_closed_pipe_end_quietly(model_dir: Path, files: Path) -> None:
    (files / "big.en").write_text("the three red books\n" * 5000, encoding="utf-8")
    (files / "big.fa").write_text("سه کتاب قرمز\n" * 5000, encoding="utf-8")
    script = str(Path(sys.executable).parent / "seq2seq-eval")
    args = [script, "-m", str(model_dir), "--src", "big.en", "--ref", "big.fa", "--beam", "4"]
    process = subprocess.Popen(
        args, cwd=files, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=like_a_terminal
    )
    started = process.stderr.readline()  # the line it prints as it starts decoding
    assert started == b"decoding big.en (5000 sentences) with 1 model\n"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130 and b"Traceback" not in stderr
    pipeline = f"{script} --hyp ref.fa --hyp hyp.fa --src src.en --ref ref.fa | head -n 1"
    closed = subprocess.run(["bash", "-c", pipeline], cwd=files, capture_output=True)
    assert closed.returncode == 0 and closed.stderr == b""


@pytest.mark.parametrize(
    ("languages", "message"),
    [
        (["--source-lang", "fa"], "--source-lang and --target-lang go together"),
        (["--source-lang", "fa", "--target-lang", "en", "--langs", "en-fa"],
         "--langs en-fa contradicts --source-lang and --target-lang"),
    ],
)  # fmt: skip
def test_a_direction_given_by_half_or_twice_is_a_usage_error(
    languages: list[str], message: str, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(["--hyp", "out.fa", "-t", "idioms", *languages])
    assert exited.value.code == 2 and message in capsys.readouterr().err
