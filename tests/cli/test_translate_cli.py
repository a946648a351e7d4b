"""seq2seq-translate as a user runs it: one line out per line in, pipes, bad options."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import torch

from seq2seq.cli.engine import ENGINES
from seq2seq.export.engine import cache_folder, stamp_of
from tests.helpers import MAX_POSITIONS, run_command

SCRIPT = str(Path(sys.executable).parent / "seq2seq-translate")


def translate(model_dir: Path, text: bytes, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SCRIPT, "-m", str(model_dir), *args], input=text, capture_output=True, timeout=300
    )


def test_line_count_and_order_survive_empty_and_over_long_lines(model_dir: Path) -> None:
    lines = ["red book", "", "cat", " ".join(["house"] * (3 * MAX_POSITIONS)), "", "tree"]
    result = translate(model_dir, ("\n".join(lines) + "\n").encode(), "--beam", "2")
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode().split("\n")
    assert len(out) == len(lines) + 1 and out[-1] == ""
    assert out[1] == "" and out[4] == ""
    assert result.stderr.decode().count("truncated") == 1
    singles = [translate(model_dir, (line + "\n").encode(), "--beam", "2") for line in lines[:3]]
    assert [s.stdout.decode().rstrip("\n") for s in singles] == out[:3]


def test_files_in_and_out_and_nbest(model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "in.en").write_text("red book\ncat\n", encoding="utf-8")
    result = run_command(
        "seq2seq-translate", "-m", str(model_dir), "-i", "in.en", "-o", "out.fa",
        "--beam", "3", "--nbest", "2", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = (tmp_path / "out.fa").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 2
    assert all(len(row.split("\t")) == 4 for row in rows)  # text, score, text, score


def test_an_empty_line_in_nbest_output_is_an_empty_candidate(model_dir: Path) -> None:
    result = translate(model_dir, b"red book\n\ncat\n", "--beam", "2", "--nbest", "2")
    assert result.returncode == 0, result.stderr
    rows = result.stdout.decode().split("\n")
    assert rows[1] == "\t" and len(rows[0].split("\t")) == len(rows[2].split("\t")) == 4


def test_split_sentences_translates_each_sentence_and_keeps_the_line(model_dir: Path) -> None:
    line = "the red book. Mr. Smith has a cat!  the tree"
    result = translate(model_dir, (line + "\n\n").encode(), "--beam", "2", "--split-sentences")
    assert result.returncode == 0, result.stderr
    sentences = ["the red book.", "Mr. Smith has a cat!", "the tree"]
    alone = [translate(model_dir, (s + "\n").encode(), "--beam", "2") for s in sentences]
    parts = [a.stdout.decode().rstrip("\n") for a in alone]
    assert result.stdout.decode() == f"{parts[0]} {parts[1]}  {parts[2]}\n\n"


def test_output_onto_the_input_file_is_refused_and_the_input_kept(model_dir, tmp_path) -> None:
    (tmp_path / "in.en").write_text("red book\ncat\n", encoding="utf-8")
    (tmp_path / "link.en").symlink_to("in.en")
    for output in ("in.en", "./in.en", "link.en"):
        result = run_command(
            "seq2seq-translate", "-m", str(model_dir), "-i", "in.en", "-o", output, cwd=tmp_path
        )
        assert result.returncode == 2 and "is an input file" in result.stderr
        assert (tmp_path / "in.en").read_text(encoding="utf-8") == "red book\ncat\n"


def test_impossible_options_are_usage_errors(model_dir: Path) -> None:
    for args in (["--beam", "0"], ["--beam", "2", "--nbest", "3"]):
        result = translate(model_dir, b"cat\n", *args)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr.decode()


def test_a_device_this_machine_lacks_is_a_usage_error(model_dir: Path) -> None:
    missing = f"cuda:{torch.cuda.device_count()}"  # one past the last (cuda:0 without a GPU)
    for device, says in (
        (missing, f"this machine has no CUDA device {missing}"),
        ("tpu", "'tpu' is not cpu, cuda or cuda:N"),
    ):
        result = translate(model_dir, b"cat\n", "--device", device)
        assert result.returncode == 2 and result.stdout == b""
        last = result.stderr.decode().splitlines()[-1]
        assert last == f"seq2seq-translate: error: argument --device: {says}"


def test_invalid_utf8_on_stdin_names_line_and_byte(model_dir: Path) -> None:
    result = translate(model_dir, b"cat\nbad \xff byte\n")
    assert result.returncode == 1
    assert result.stderr.decode().strip() == (
        "error: <stdin>:2: invalid UTF-8 at byte 4 of the line (byte 8 of the file)"
    )


def test_a_closed_pipe_ends_quietly(model_dir: Path) -> None:
    text = "cat\n" * 2000
    pipeline = f"{SCRIPT} -m {model_dir} --beam 1 --chunk-lines 50 | head -n 2"
    result = subprocess.run(["bash", "-c", pipeline], input=text.encode(), capture_output=True)
    assert result.returncode == 0
    assert len(result.stdout.decode().splitlines()) == 2
    assert result.stderr == b""


def test_seeded_sampling_from_the_command_line(model_dir: Path) -> None:
    text = b"red book\ncat\ngreen tree\n"
    first = translate(model_dir, text, "--sample", "--top-k", "5", "--seed", "3")
    again = translate(model_dir, text, "--sample", "--top-k", "5", "--seed", "3")
    assert first.returncode == 0, first.stderr
    assert first.stdout == again.stdout
    assert len(first.stdout.decode().split("\n")) == 4


def test_export_from_the_command_line(model_dir: Path, tmp_path: Path) -> None:
    result = run_command(
        "seq2seq-export", "-m", str(model_dir), "--to", "huggingface", "-o", "hf", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert {"config.json", "model.safetensors", "source.spm", "vocab.json"} <= {
        p.name for p in (tmp_path / "hf").iterdir()
    }
    result = run_command(
        "seq2seq-export", "-m", str(model_dir), "--to", "ctranslate2", "-o", "ct2", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "ct2" / "model.bin").is_file()


def test_export_never_writes_over_a_model_and_asks_before_a_full_folder(model_dir, tmp_path):
    """The Hugging Face export writes model.safetensors: into a model directory (``-o`` the
    same as ``-m``, say) it would replace the model's own weights."""
    copy = Path(shutil.copytree(model_dir, tmp_path / "model"))
    before = {p.name: p.read_bytes() for p in copy.iterdir()}
    export = ["seq2seq-export", "-m", "model", "--to", "huggingface", "-o"]
    for extra in ([], ["--force"]):
        result = run_command(*export, "model", *extra, cwd=tmp_path)
        assert result.returncode == 2 and "is a seq2seq model directory" in result.stderr
    assert {p.name: p.read_bytes() for p in copy.iterdir()} == before
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "notes.txt").write_text("mine\n", encoding="utf-8")
    refused = run_command(*export, "hf", cwd=tmp_path)
    assert refused.returncode == 2 and "pass --force" in refused.stderr
    assert [p.name for p in (tmp_path / "hf").iterdir()] == ["notes.txt"]
    forced = run_command(*export, "hf", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert {"notes.txt", "model.safetensors"} <= {p.name for p in (tmp_path / "hf").iterdir()}


def test_attention_out_writes_one_picture_per_sentence(model_dir: Path, tmp_path: Path) -> None:
    result = translate(model_dir, b"red book\n\nthe three cats\n", "--beam", "2",
                       "--chunk-lines", "2", "--attention-out", str(tmp_path / "att"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.decode().splitlines()) == 3
    pictures = sorted(p.name for p in (tmp_path / "att").iterdir())
    assert pictures == ["000001.png", "000003.png"]  # line numbers; the empty line has none
    assert (tmp_path / "att" / "000003.png").read_bytes().startswith(b"\x89PNG")


def test_prefix_file_begins_each_translation(model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "in.en").write_text("red book\ncat\n\ntree\n", encoding="utf-8")
    (tmp_path / "prefix.fa").write_text("کتاب قرمز\n\nخانه\nدرخت\n", encoding="utf-8")
    for search in (["--beam", "1"], ["--beam", "3", "--nbest", "2"]):
        result = run_command("seq2seq-translate", "-m", str(model_dir), "-i", "in.en",
                             "--prefix", "prefix.fa", *search, cwd=tmp_path)  # fmt: skip
        assert result.returncode == 0, result.stderr
        lines = result.stdout.split("\n")[:-1]
        assert len(lines) == 4 and lines[2].strip() == ""  # an empty line stays empty
        for line, prefix in zip(lines, ["کتاب قرمز", "", "", "درخت"], strict=True):
            candidates = line.split("\t")[::2]
            assert all(c.startswith(prefix) for c in candidates)
        assert lines[0].startswith("کتاب قرمز") and lines[3].startswith("درخت")


def test_a_prefix_file_of_another_length_names_its_line(model_dir: Path, tmp_path) -> None:
    (tmp_path / "in.en").write_text("red book\ncat\n", encoding="utf-8")
    (tmp_path / "prefix.fa").write_text("کتاب\n", encoding="utf-8")
    result = run_command("seq2seq-translate", "-m", str(model_dir), "-i", "in.en",
                         "--prefix", "prefix.fa", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 1
    expected = "error: prefix.fa:2: ends here, before in.en: one prefix per input line\n"
    assert result.stderr == expected
    result = run_command("seq2seq-translate", "-m", str(model_dir), "-i", "in.en",
                         "--prefix", "prefix.fa", "--split-sentences", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2 and "not with --split-sentences" in result.stderr


def test_engine_ctranslate2_translates_greedily_as_ours(model_dir: Path, tmp_path: Path) -> None:
    model = shutil.copytree(model_dir, tmp_path / "model")
    text = b"red book\n\nthe three cats sat on the mat.\n"
    runs = {e: translate(model, text, "--beam", "1", "--engine", e) for e in ENGINES[1:]}
    assert all(run.returncode == 0 for run in runs.values()), runs["ctranslate2"].stderr
    assert runs["ctranslate2"].stdout == runs["torch"].stdout
    assert len(runs["torch"].stdout.decode().splitlines()) == 3
    assert (cache_folder(model, stamp_of(model)) / "model.bin").is_file()


def test_engine_ctranslate2_with_what_only_ours_does_is_one_error_line(
    model_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "prefixes").write_text("x\n", encoding="utf-8")
    result = translate(model_dir, b"red book\n", "--engine", "ctranslate2", "--nbest", "2",
                       "--prefix", str(tmp_path / "prefixes"))  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.decode().strip() == (
        "error: --engine ctranslate2: --prefix, --nbest need our decoder"
    )
