"""seq2seq-translate against bad and hostile input: every line answered or one clear error."""

from __future__ import annotations

import contextlib
import os
import pty
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.cli.test_translate_cli import SCRIPT, translate
from tests.data.corpus import sentence_pairs
from tests.helpers import like_a_terminal


def test_invalid_utf8_can_be_replaced_instead(model_dir: Path) -> None:
    result = translate(model_dir, b"cat\nbad \xff byte\n\n", "--beam", "1", "--errors", "replace")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.decode().split("\n")) == 4  # three lines and the final newline


def test_a_binary_file_is_one_error_or_one_line_per_line(model_dir: Path, tmp_path: Path) -> None:
    binary = tmp_path / "image.bin"
    data = bytes(range(256)) * 40 + b"\n\x00\x01\x02\n"  # byte 10 is a line end, too
    binary.write_bytes(data)
    result = subprocess.run([SCRIPT, "-m", str(model_dir), "-i", str(binary)],
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {binary}:1: ") and result.stderr.count("\n") == 1
    args = [SCRIPT, "-m", str(model_dir), "-i", str(binary), "--beam", "1", "--errors", "replace"]
    replaced = subprocess.run(args, capture_output=True, timeout=300)
    assert replaced.returncode == 0, replaced.stderr
    assert replaced.stdout.count(b"\n") == data.count(b"\n")


def test_a_100000_character_line_is_truncated_not_fatal(model_dir: Path) -> None:
    line = ("word " * 20_000).encode()[:100_000]
    result = translate(model_dir, b"cat\n" + line + b"\ntree\n", "--beam", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(b"\n") == 3
    assert result.stderr.decode().count("truncated") == 1


def test_100000_short_lines_stream_through(model_dir: Path) -> None:
    """Output comes while input is still arriving (so memory does not grow with the input),
    and every one of 100,000 lines gets its line. Each translation is one token at most:
    this is about the stream, and decoding long outputs would only make it slow."""
    args = [SCRIPT, "-m", str(model_dir), "--beam", "1", "--chunk-lines", "500",
            "--max-len-a", "0", "--max-len-b", "1"]  # fmt: skip
    process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    process.stdin.write(b"cat\n" * 1000)
    process.stdin.flush()
    first = process.stdout.readline()  # arrives before the input has ended
    assert first.endswith(b"\n")

    def feed_the_rest() -> None:  # from another thread: both pipes must keep flowing
        process.stdin.write(b"red book\n" * 99_000)
        process.stdin.close()

    feeder = threading.Thread(target=feed_the_rest)
    feeder.start()
    rest = process.stdout.read()
    feeder.join()
    assert process.wait(timeout=600) == 0
    assert 1 + rest.count(b"\n") == 100_000


def test_ctrl_c_exits_130_keeping_the_complete_lines(model_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.en"
    source.write_text("the three red books\n" * 20_000, encoding="utf-8")
    output = tmp_path / "out.fa"
    args = [SCRIPT, "-m", str(model_dir), "-i", str(source), "-o", str(output), "--beam", "2",
            "--chunk-lines", "100"]  # fmt: skip
    process = subprocess.Popen(args, stderr=subprocess.PIPE, preexec_fn=like_a_terminal)
    deadline = time.monotonic() + 300
    while not (output.is_file() and output.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=120) == 130
    assert "Traceback" not in process.stderr.read().decode()
    written = output.read_bytes()
    assert written.endswith(b"\n") and written.count(b"\n") % 100 == 0
    assert 100 <= written.count(b"\n") < 20_000


def numbered_lines(count: int) -> bytes:
    """Distinct lines, so that a line translated twice or skipped shows in the output."""
    phrases = [en for en, _ in sentence_pairs(50, seed=3)]
    return "".join(f"{phrases[n % 50]} {n}\n" for n in range(count)).encode()


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_a_stopped_translation_resumes_line_exact(model_dir, tmp_path, stop) -> None:
    """Stopped in the middle (and, after a kill, with a torn line written as a write can leave
    it), ``--resume`` ends with the output of an uninterrupted run: nothing twice, nothing lost."""
    source = tmp_path / "in.en"
    source.write_bytes(numbered_lines(4_000))
    args = [SCRIPT, "-m", str(model_dir), "-i", str(source), "--beam", "2", "--chunk-lines", "50"]
    whole = subprocess.run(args, capture_output=True, timeout=600)
    assert whole.returncode == 0, whole.stderr
    output = tmp_path / "out.fa"
    process = subprocess.Popen([*args, "-o", str(output)], preexec_fn=like_a_terminal)
    deadline = time.monotonic() + 300
    while not (output.is_file() and output.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(stop)
    process.wait(timeout=120)
    if stop == signal.SIGKILL:
        with output.open("ab") as torn:
            torn.write(whole.stdout[: whole.stdout.index(b"\n")][:3])
    before = output.read_bytes().count(b"\n")
    assert 0 < before < 4_000
    resumed = subprocess.run([*args, "-o", str(output), "--resume"], capture_output=True,
                             timeout=600)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr.decode() == f"resuming after line {before} of {source}\n"
    assert output.read_bytes() == whole.stdout


def test_resuming_a_finished_output_adds_nothing(model_dir: Path, tmp_path: Path) -> None:
    source, output = tmp_path / "in.en", tmp_path / "out.fa"
    source.write_bytes(numbered_lines(30))
    args = [SCRIPT, "-m", str(model_dir), "-i", str(source), "-o", str(output), "--beam", "1"]
    assert subprocess.run(args, timeout=300).returncode == 0
    first = output.read_bytes()
    assert subprocess.run([*args, "--resume"], timeout=300).returncode == 0
    assert output.read_bytes() == first


def test_resuming_the_output_of_a_shorter_input_is_one_error(model_dir, tmp_path) -> None:
    source, output = tmp_path / "in.en", tmp_path / "out.fa"
    source.write_bytes(numbered_lines(3))
    output.write_bytes(b"a\nb\nc\nd\n")
    args = [SCRIPT, "-m", str(model_dir), "-i", str(source), "-o", str(output), "--resume"]
    result = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"error: {output}: has 4 lines but {source} only 3: --resume continues the output of "
        "the same input"
    )
    assert output.read_bytes() == b"a\nb\nc\nd\n"  # left as it was


def test_resume_needs_an_output_file(model_dir: Path) -> None:
    result = translate(model_dir, b"cat\n", "--resume")
    assert result.returncode == 2
    assert b"--resume continues an output file: it needs -o FILE" in result.stderr


def test_a_terminal_sees_the_progress_and_the_rate(model_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.en"
    source.write_bytes(numbered_lines(400))
    primary, secondary = pty.openpty()
    args = [SCRIPT, "-m", str(model_dir), "-i", str(source), "--beam", "1", "--chunk-lines", "20"]
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "160"}
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=secondary, env=env)
    os.close(secondary)
    shown = b""
    with contextlib.suppress(OSError):  # EIO once the child has closed the terminal
        while chunk := os.read(primary, 65536):
            shown += chunk
    os.close(primary)
    assert process.wait(timeout=300) == 0
    text = shown.decode(errors="replace")
    assert "/400" in text and "sentences/s" in text
