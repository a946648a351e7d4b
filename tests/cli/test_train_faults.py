"""Training survives kill -9 at any moment, stops cleanly on a loss that is not finite, and
never deletes a folder it did not write."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seq2seq.training.checkpoint_io import read_checkpoint
from tests.cli.test_train_cli import SMALL_DEMO, paths_under

STEPS = 60
SHORT_RUN = [*SMALL_DEMO, f"trainer.max_steps={STEPS}", "callbacks.steps.every_n_train_steps=3",
             "test_after_training=false"]  # fmt: skip


def command(work: Path, *args: str) -> list[str]:
    script = str(Path(sys.executable).parent / "seq2seq-train")
    return [script, *paths_under(work), *SHORT_RUN, *args]


def staged_checkpoint(folder: Path) -> bool:
    """A checkpoint is being written: its staged file sits beside the destination."""
    return folder.is_dir() and any(n.endswith(".tmp") for n in os.listdir(folder))


def kill_when(work: Path, moment) -> None:
    """Start training and kill -9 it as soon as ``moment(checkpoints folder)`` holds."""
    process = subprocess.Popen(command(work), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    folder = work / "run" / "checkpoints"
    while process.poll() is None and not moment(folder):
        time.sleep(0.001)
    assert process.poll() is None, "training ended before the moment to kill it came"
    process.send_signal(signal.SIGKILL)
    process.wait()


def a_second_after_the_first_checkpoint():
    """A moment between checkpoint writes, with some already written."""
    first_seen: list[float] = []

    def moment(folder: Path) -> bool:
        if not first_seen and (folder / "last.ckpt").is_file():
            first_seen.append(time.monotonic())
        return bool(first_seen) and time.monotonic() - first_seen[0] > 1.0

    return moment


@pytest.mark.parametrize("moment", ["during-a-checkpoint-write", "between-checkpoints"])
def test_killed_at_any_moment_training_resumes_and_finishes(tmp_path: Path, moment: str) -> None:
    kill_when(tmp_path, staged_checkpoint if moment.startswith("during") else
              a_second_after_the_first_checkpoint())  # fmt: skip
    for checkpoint in (tmp_path / "run" / "checkpoints").glob("*.ckpt"):
        read_checkpoint(checkpoint)  # whole: the old one or the new one, never a torn one
    resumed = subprocess.run(command(tmp_path, "ckpt_path=last"), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    metadata = json.loads((tmp_path / "run" / "model" / "metadata.json").read_text())
    assert metadata["global_step"] == STEPS


def test_a_loss_that_stays_non_finite_stops_training_and_keeps_checkpoints(tmp_path: Path) -> None:
    good = subprocess.run(command(tmp_path, "trainer.max_steps=6"), capture_output=True, text=True)
    assert good.returncode == 0, good.stderr[-3000:]
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    before = hashlib.sha256(last.read_bytes()).hexdigest()
    # An absurd learning rate: the first update makes every weight inf or NaN.
    bad = subprocess.run(command(tmp_path, "optimizer.lr=1e15", "module.max_nonfinite_steps=3",
                                 "callbacks.steps.every_n_train_steps=5"),
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 1
    assert bad.stderr.count("update skipped") == 2
    assert bad.stderr.splitlines()[-1].startswith(
        "error: training stopped after 3 updates in a row with a non-finite loss"
    )
    assert "Traceback" not in bad.stderr
    assert hashlib.sha256(last.read_bytes()).hexdigest() == before


def test_a_model_folder_holding_other_files_stops_the_run_before_training(tmp_path) -> None:
    notes = tmp_path / "run" / "model" / "notes.txt"
    notes.parent.mkdir(parents=True)
    notes.write_text("mine\n", encoding="utf-8")
    result = subprocess.run(command(tmp_path), capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith(
        f"error: {notes.parent}: exists and is neither a model directory"
    )
    assert not (tmp_path / "run" / "checkpoints").exists()  # stopped before the first update
    assert [p.name for p in notes.parent.iterdir()] == ["notes.txt"]
