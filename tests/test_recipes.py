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


def run_distillation(*steps: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(REPO / "recipes" / "en-fa" / "distill.sh"), *steps],
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def test_distillation_translates_the_training_sources_and_lays_out_the_students_data(
    model_dir: Path, tmp_path: Path
) -> None:
    root = tmp_path / "en-fa"
    for folder in ("dev", "test", "train"):
        (root / folder).mkdir(parents=True)
    (root / "train" / "tech-docs.en").write_text("held-out parts are read from here\n")
    sources = "the red book\nthree cats\n\na small house\n"
    (tmp_path / "train.clean.src").write_text(sources, encoding="utf-8")
    (tmp_path / "train.clean.tgt").write_text("کتاب\nگربه\n\nخانه\n", encoding="utf-8")
    out = tmp_path / "out"
    env = {"TEACHER": f"{model_dir} {model_dir}", "TRAIN": str(tmp_path / "train.clean"),
           "OUT": str(out), "DATA_ROOT": str(root)}  # fmt: skip
    result = run_distillation("translate", "layout", env=env)
    assert result.returncode == 0, result.stderr
    teacher = (out / "teacher.fa").read_text(encoding="utf-8")
    assert teacher.count("\n") == 4 and teacher.splitlines()[2] == ""  # a line per source
    data = out / "data"
    assert (data / "train" / "distilled.en").read_text(encoding="utf-8") == sources
    assert (data / "train" / "distilled.fa").read_text(encoding="utf-8") == teacher
    assert (data / "train" / "original.fa").read_text(encoding="utf-8") == "کتاب\nگربه\n\nخانه\n"
    assert (data / "dev").resolve() == root / "dev" and (data / "test").resolve() == root / "test"
    assert (data / "train" / "tech-docs.en").resolve() == root / "train" / "tech-docs.en"


def test_distillation_asks_for_a_teacher_and_knows_its_students(tmp_path: Path) -> None:
    env = {"OUT": str(tmp_path), "DATA_ROOT": str(tmp_path), "TEACHER": "", "TRAIN": ""}
    result = run_distillation("translate", env=env)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == "error: set TEACHER to the teacher's model directories"
    result = run_distillation("train", env={**env, "STUDENTS": "bogus"})
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == "error: no student bogus (distilled or mixed)"
    result = run_distillation("distil", env=env)
    assert result.returncode == 2 and result.stderr.startswith("usage:")
