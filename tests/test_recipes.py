"""The recipes' data step as a user runs it, against a local server standing in for upstream."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from seq2seq.data.download import load_manifest
from tests.helpers import REPO


def run_recipe(
    name: str, *args: str, data_root: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATA_ROOT": str(data_root), **(env or {})}
    return subprocess.run([str(REPO / "recipes" / name / "run.sh"), *args], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_download_step_fetches_the_layout(shared_server: str, tmp_path: Path) -> None:
    root = tmp_path / "en-fa"
    result = run_recipe("en-fa", "--download", "--mirror", f"{shared_server}/data/en-fa", "data",
                        data_root=root)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert all((root / item.path).is_file() for item in load_manifest("en-fa"))
    assert "every file matches its sha256" in result.stdout


def test_the_reverse_recipe_takes_the_same_options(tmp_path: Path) -> None:
    result = run_recipe("fa-en", "data", data_root=tmp_path / "absent")
    assert result.returncode == 1 and "no data at" in result.stderr
    result = run_recipe("fa-en", "--bogus", data_root=tmp_path)
    assert result.returncode == 2 and result.stderr.startswith("usage:")


def test_evaluate_decodes_on_the_device_it_is_given(tmp_path: Path) -> None:
    env = {"OUT": str(tmp_path), "DEVICE": "cuda:99"}
    result = run_recipe("en-fa", "evaluate", data_root=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].endswith("this machine has no CUDA device cuda:99")


def test_training_refuses_to_mix_with_an_earlier_runs_checkpoints(tmp_path: Path) -> None:
    earlier = tmp_path / "out" / "checkpoints" / "step-000500.ckpt"
    earlier.parent.mkdir(parents=True)
    earlier.write_bytes(b"an earlier run")
    env = {"OUT": str(tmp_path / "out")}
    result = run_recipe("en-fa", "train", data_root=tmp_path, env=env)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"error: {tmp_path}/out/checkpoints holds an earlier run's checkpoints: "
        "move them away or set OUT"
    )
    assert earlier.read_bytes() == b"an earlier run"


def test_the_joeynmt_comparison_checks_for_earlier_checkpoints_before_training(
    tmp_path: Path,
) -> None:
    earlier = tmp_path / "work" / "ours" / "checkpoints" / "step-000500.ckpt"
    earlier.parent.mkdir(parents=True)
    earlier.write_bytes(b"an earlier run")
    env = {**os.environ, "WORK": str(tmp_path / "work"), "DATA_ROOT": str(tmp_path)}
    result = subprocess.run([str(REPO / "recipes" / "en-fa" / "compare_joeynmt.sh")], env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 1
    assert "holds an earlier run's checkpoints" in result.stderr
    assert not (tmp_path / "work" / "joeynmt").exists()  # nothing installed, nothing trained


def test_the_joeynmt_comparison_refuses_an_earlier_run_that_has_no_model(tmp_path: Path) -> None:
    (tmp_path / "earlier" / "checkpoints").mkdir(parents=True)
    env = {**os.environ, "WORK": str(tmp_path / "work"), "DATA_ROOT": str(tmp_path),
           "OURS": str(tmp_path / "earlier")}  # fmt: skip
    result = subprocess.run([str(REPO / "recipes" / "en-fa" / "compare_joeynmt.sh")], env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"error: OURS={tmp_path}/earlier is not the output of a recipe run: "
        "it has no model/spm.model"
    )
    assert not (tmp_path / "work").exists()  # nothing prepared, installed or trained
