"""The recipes' data step as a user runs it, against a local server standing in for upstream."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from seq2seq.data.download import load_manifest
from seq2seq.modeldir.format import load_model_dir
from tests.helpers import REPO, shared_en_fa


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


@pytest.mark.slow
def test_the_pretrained_recipe_imports_tunes_evaluates_and_exports(tmp_path: Path) -> None:
    """recipes/pretrained on a small OPUS-MT-like folder built here (nothing is fetched), two
    updates of each fine-tuning, one test set."""
    pytest.importorskip("transformers")
    from tests.modeldir.transformers_models import marian_folder

    out = tmp_path / "out"
    env = {"HF_DIR": str(marian_folder(tmp_path, separate=False)), "OUT": str(out),
           "STEPS": "2", "TESTSETS": "idioms",
           "TRAIN_ARGS": f"paths.prepared_dir={tmp_path / 'data-cache'}"}  # fmt: skip
    steps = ["import", "evaluate", "finetune", "lora", "evaluate", "export"]
    result = run_recipe("pretrained", *steps, data_root=shared_en_fa(), env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    (report,) = json.loads((out / "scores.json").read_text())
    names = ("imported", "finetuned", "lora")
    assert [s["name"] for s in report["systems"]] == [str(out / name) for name in names]
    assert report["direction"] == "fa-en" and report["testset"] == "idioms"
    start, *tuned = (load_model_dir(out / name) for name in names)
    no_dropout = {"dropout": 0.0, "attention_dropout": 0.0, "activation_dropout": 0.0}
    architectures = [replace(t.model.cfg, **no_dropout) for t in (start, *tuned)]
    assert architectures == architectures[:1] * 3  # LoRA's adapters merged into the weights
    for model in tuned:
        weights = model.model.decoder.layers[0].ffn.w_1.weight
        assert not torch.equal(weights, start.model.decoder.layers[0].ffn.w_1.weight)
    assert (out / "finetuned-ct2" / "model.bin").is_file()


def test_the_pretrained_recipe_takes_the_en_fa_directions_only(tmp_path: Path) -> None:
    env = {"SOURCE": "en", "TARGET": "de", "OUT": str(tmp_path)}
    result = run_recipe("pretrained", "import", data_root=tmp_path, env=env)
    assert result.returncode == 1
    assert (
        result.stderr.strip() == "error: the en-fa data trains and tests en-fa or fa-en, not en-de"
    )
