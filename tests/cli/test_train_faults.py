"""Training survives kill -9 at any moment, stops cleanly on a loss that is not finite, and
never deletes a folder it did not write."""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import select
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable
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


class FolderEvents:
    """Names that appear in a folder (created, or renamed into it), as the kernel reports
    them: Linux inotify, so a test reacts the moment a file appears instead of polling."""

    CREATE, MOVED_TO = 0x100, 0x80  # IN_CREATE, IN_MOVED_TO
    EVENT = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len; then the name

    def __init__(self, folder: Path) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_CLOEXEC)
        if (
            self.fd < 0
            or libc.inotify_add_watch(self.fd, bytes(folder), self.CREATE | self.MOVED_TO) < 0
        ):
            raise OSError(ctypes.get_errno(), f"inotify on {folder}")

    def wait(self, timeout: float) -> list[str]:
        """The names that appeared, waiting up to ``timeout`` seconds for the first."""
        if not select.select([self.fd], [], [], timeout)[0]:
            return []
        data, names, at = os.read(self.fd, 64 * 1024), [], 0
        while at < len(data):
            *_, length = self.EVENT.unpack_from(data, at)
            start = at + self.EVENT.size
            names.append(data[start : start + length].rstrip(b"\0").decode())
            at = start + length
        return names

    def close(self) -> None:
        os.close(self.fd)


def kill_when(work: Path, appears: Callable[[str], bool], *, after: float = 0.0) -> None:
    """Start training and kill -9 it ``after`` seconds after a name for which ``appears``
    holds shows up in its checkpoints folder."""
    folder = work / "run" / "checkpoints"
    folder.mkdir(parents=True)
    events = FolderEvents(folder)
    try:
        process = subprocess.Popen(
            command(work), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        while process.poll() is None and not any(map(appears, events.wait(timeout=1.0))):
            pass
    finally:
        events.close()
    time.sleep(after)
    assert process.poll() is None, "training ended before the moment to kill it came"
    process.send_signal(signal.SIGKILL)
    process.wait()


# A checkpoint is being written: its staged file appears beside the destination. Or a moment
# between checkpoint writes, a second after the first one is in place.
MOMENTS = {
    "during-a-checkpoint-write": ((lambda name: name.endswith(".tmp")), 0.0),
    "between-checkpoints": ((lambda name: name == "last.ckpt"), 1.0),
}


@pytest.mark.parametrize("moment", MOMENTS)
def test_killed_at_any_moment_training_resumes_and_finishes(tmp_path: Path, moment: str) -> None:
    appears, after = MOMENTS[moment]
    kill_when(tmp_path, appears, after=after)
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
