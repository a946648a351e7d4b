"""Folders published whole: processes that build the same folder at once all succeed."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

from seq2seq.common.atomic import publish_directory
from seq2seq.data.demo import write_demo_corpus


def staged_folder(path: Path, text: str) -> Path:
    path.mkdir()
    (path / "done").write_text(text)
    return path


def complete(path: Path) -> bool:
    return (path / "done").is_file()


def test_the_first_folder_published_wins_and_later_copies_are_discarded(tmp_path: Path) -> None:
    target = tmp_path / "out"
    publish_directory(staged_folder(tmp_path / "a", "first"), target, complete=complete)
    publish_directory(staged_folder(tmp_path / "b", "second"), target, complete=complete)
    assert (target / "done").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_incomplete_leftover_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "half").write_text("torn")
    publish_directory(staged_folder(tmp_path / "a", "whole"), tmp_path / "out", complete=complete)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["done"]


def test_a_copy_renamed_in_between_is_kept(tmp_path: Path, monkeypatch) -> None:
    """Another process publishes between this one's check and its rename: theirs stays."""
    target = tmp_path / "out"
    theirs = staged_folder(tmp_path / "theirs", "theirs")
    rename = os.replace

    def another_process_first(source: Path, destination: Path) -> None:
        rename(theirs, destination)
        rename(source, destination)  # a non-empty folder: OSError, as on Linux

    monkeypatch.setattr(os, "replace", another_process_first)
    publish_directory(staged_folder(tmp_path / "a", "ours"), target, complete=complete)
    assert (target / "done").read_text() == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def _write(root: str) -> None:
    write_demo_corpus(Path(root), train=3000, dev=20, test=20, seed=5)


def test_processes_writing_the_demo_corpus_at_once_leave_one_whole_copy(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_write, [str(root)] * 4)
    lines = (root / "train" / "demo.en").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]
