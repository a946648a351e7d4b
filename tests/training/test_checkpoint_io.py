"""Checkpoint files: written atomically, read weights-only."""

from __future__ import annotations

import pickle
import stat
from pathlib import Path

import pytest
import torch

from seq2seq.common.errors import DataError
from seq2seq.training.checkpoint_io import AtomicCheckpointIO, read_checkpoint
from tests.helpers import Payload


def test_round_trip_leaves_only_the_checkpoint(tmp_path: Path) -> None:
    io = AtomicCheckpointIO()
    io.save_checkpoint({"w": torch.arange(3), "step": 7}, tmp_path / "ckpt" / "last.ckpt")
    assert [p.name for p in (tmp_path / "ckpt").iterdir()] == ["last.ckpt"]
    loaded = io.load_checkpoint(tmp_path / "ckpt" / "last.ckpt")
    assert loaded["step"] == 7 and torch.equal(loaded["w"], torch.arange(3))


@pytest.mark.usefixtures("usual_umask")
def test_a_checkpoint_gets_the_permissions_of_an_ordinary_file(tmp_path: Path) -> None:
    AtomicCheckpointIO().save_checkpoint({"step": 1}, tmp_path / "last.ckpt")
    assert stat.S_IMODE((tmp_path / "last.ckpt").stat().st_mode) == 0o644


def test_a_failed_write_keeps_the_previous_checkpoint_whole(tmp_path: Path) -> None:
    io, path = AtomicCheckpointIO(), tmp_path / "last.ckpt"
    io.save_checkpoint({"step": 1}, path)
    before = path.read_bytes()
    with pytest.raises(Exception, match="pickle"):  # a lambda cannot be pickled
        io.save_checkpoint({"step": 2, "oops": lambda: None}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_a_checkpoint_that_would_run_code_is_refused_unrun(tmp_path: Path) -> None:
    marker = tmp_path / "payload-ran"
    path = tmp_path / "evil.ckpt"
    path.write_bytes(pickle.dumps({"state_dict": Payload(marker)}))
    with pytest.raises(DataError, match=r"evil\.ckpt: not a readable checkpoint"):
        read_checkpoint(path)
    assert not marker.exists()


def test_a_torn_checkpoint_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "last.ckpt"
    torch.save({"w": torch.zeros(1000)}, path)
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(DataError, match=r"last\.ckpt: not a readable checkpoint"):
        read_checkpoint(path)
