"""seq2seq-train as a user runs it: every experiment, outputs, resume, the demo corpus."""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from seq2seq.modeldir.format import load_model_dir
from tests.helpers import REPO, data_cache, run_command, shared_en_fa

# A small demo corpus and no validation unless asked: these runs check plumbing, not quality.
SMALL_DEMO = ["experiment=demo", "data.generate.train=2000", "data.generate.dev=50",
              "data.generate.test=50", "trainer.precision=32-true"]  # fmt: skip


def paths_under(work: Path, *, shared_data: bool = True) -> list[str]:
    """Overrides that keep a run's outputs under ``work``, and its data and prepared data in
    the test run's shared cache (or under ``work`` too: ``shared_data=False``, for runs whose
    ranks must race to generate and prepare the data)."""
    data = data_cache() if shared_data else work
    return [
        f"paths.output_dir={work / 'run'}",
        f"paths.data_dir={data / 'data'}",
        f"paths.prepared_dir={data / 'prepared'}",
        "trainer.enable_progress_bar=false",
    ]


def train(tmp_path: Path, *args: str, env: dict[str, str] | None = None, shared_data: bool = True):
    paths = paths_under(tmp_path, shared_data=shared_data)
    result = run_command("seq2seq-train", *paths, *args, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.mark.parametrize(
    "experiment",
    [
        "demo", "en_fa_tiny", "fa_en_tiny", "en_fa_base", "demo_lm", "fa_lm", "en_fa_lm",
        "en_fa_decoder_only",
    ],
)  # fmt: skip
def test_every_experiment_runs_under_fast_dev_run(tmp_path: Path, experiment: str) -> None:
    demo = experiment.startswith("demo")
    # The real data in one segmentation: its 7 sampled copies are the prepare test's to cover.
    root = SMALL_DEMO[1:] if demo else [f"data.root={shared_en_fa()}", "tokenizer.sampled_copies=0"]
    train(
        tmp_path, f"experiment={experiment}", *root, "trainer.fast_dev_run=true",
        "test_after_training=false", "module.val_max_sentences=8", "data.batching.max_tokens=512",
    )  # fmt: skip


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """20 steps of a small demo: checkpoints at 10 and 20, one validation at 20."""
    tmp_path = tmp_path_factory.mktemp("demo")
    result = train(
        tmp_path, *SMALL_DEMO, "trainer.max_steps=20", "trainer.val_check_interval=20",
        "callbacks.steps.every_n_train_steps=10",
    )  # fmt: skip
    return tmp_path / "run", result.stdout


def test_demo_run_writes_model_directory_and_checkpoints(demo_run) -> None:
    run, stdout = demo_run
    checkpoints = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert checkpoints == ["best.ckpt", "last.ckpt", "step-000010.ckpt", "step-000020.ckpt"]
    assert "test/demo/bleu:" in stdout and "val/bleu:" in stdout
    assert "precision: 32-true\n" in stdout  # what trainer.precision said, resolved
    loaded = load_model_dir(run / "model")
    assert loaded.spec.src_lang == "en" and loaded.metadata["global_step"] == 20
    assert loaded.metadata["data"]["splits"]["train"]["pairs"] == 2000
    assert (run / "logs" / "metrics.csv").is_file()


def test_the_model_directory_is_the_checkpoint_of_best_dev_by_the_chosen_metric(
    tmp_path: Path,
) -> None:
    train(
        tmp_path, *SMALL_DEMO, "trainer.max_steps=30", "trainer.val_check_interval=10",
        "callbacks.best.monitor=val/chrf",
    )  # fmt: skip
    with (tmp_path / "run" / "logs" / "metrics.csv").open() as f:
        validations = [row for row in csv.DictReader(f) if row.get("val/chrf")]
    assert len(validations) == 3
    best = max(validations, key=lambda row: float(row["val/chrf"]))  # the first, on a tie
    metadata = load_model_dir(tmp_path / "run" / "model").metadata
    assert metadata["selected_by"] == "val/chrf"
    for metric in ("val/chrf", "val/bleu", "val/nll"):
        assert metadata["best_dev"][metric] == pytest.approx(float(best[metric]))


def test_average_writes_the_mean_of_the_checkpoints(demo_run, tmp_path: Path) -> None:
    run, _ = demo_run
    paths = [run / "checkpoints" / f"step-0000{n}.ckpt" for n in (10, 20)]
    result = run_command(
        "seq2seq-average", *map(str, paths), "-o", str(tmp_path / "avg"), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    loaded = load_model_dir(tmp_path / "avg")
    assert loaded.metadata["data"] == load_model_dir(run / "model").metadata["data"]  # prepared
    averaged = loaded.model.state_dict()
    states = [torch.load(p, weights_only=True)["state_dict"] for p in paths]
    name = "encoder.layers.0.ffn.w_1.weight"
    expected = (states[0][f"net.{name}"].double() + states[1][f"net.{name}"].double()) / 2
    torch.testing.assert_close(averaged[name], expected.float())
    assert not torch.equal(states[0][f"net.{name}"], states[1][f"net.{name}"])

    missing = run_command("seq2seq-average", str(tmp_path / "nope.ckpt"), "-o", "x", cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"error: {tmp_path / 'nope.ckpt'}: checkpoint not found"


def test_average_refuses_to_replace_a_folder_that_is_not_a_model(demo_run, tmp_path) -> None:
    """``-o runs/x`` where ``-o runs/x/averaged`` was meant keeps the run's checkpoints."""
    run = Path(shutil.copytree(demo_run[0], tmp_path / "run"))
    before = sorted(run.rglob("*"))
    checkpoint = run / "checkpoints" / "step-000020.ckpt"
    result = run_command("seq2seq-average", str(checkpoint), "-o", str(run), cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: {run}: exists and is neither a model directory")
    assert sorted(run.rglob("*")) == before


def test_a_step_checkpoint_on_the_last_batch_of_an_epoch_is_written(tmp_path: Path) -> None:
    """Validation every N updates, not at epochs' ends, and a save due on an epoch's last batch:
    Lightning deferred it to a validation that never came, so the final step had none."""
    train(
        tmp_path, *SMALL_DEMO, "data.batching.max_tokens=512", "trainer.max_epochs=1",
        "trainer.max_steps=-1", "callbacks.steps.every_n_train_steps=1",
        "trainer.val_check_interval=100000", "trainer.check_val_every_n_epoch=null",
        "test_after_training=false",
    )  # fmt: skip
    folder = tmp_path / "run" / "checkpoints"
    final, _ = optimizer_state(folder / "last.ckpt")
    steps = sorted(int(p.stem.removeprefix("step-")) for p in folder.glob("step-*.ckpt"))
    assert steps == list(range(final - 4, final + 1))


def optimizer_state(checkpoint: Path) -> tuple[int, list[torch.Tensor]]:
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    moments = state["optimizer_states"][0]["state"]
    return state["global_step"], [moments[k]["exp_avg"] for k in sorted(moments)]


def assert_same_state(checkpoint: Path, uninterrupted: Path, *, step: int) -> None:
    """Both checkpoints are at ``step``, with the same Adam moments."""
    got_step, got = optimizer_state(checkpoint)
    want_step, want = optimizer_state(uninterrupted)
    assert got_step == want_step == step
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("experiment", ["demo", "demo_lm"])
def test_resume_reaches_the_same_state_as_an_uninterrupted_run(tmp_path, experiment) -> None:
    """Both runs stop off the checkpoint interval (5): last.ckpt holds the final state."""
    steps = ["callbacks.steps.every_n_train_steps=5", "trainer.val_check_interval=1000"]
    run = [f"experiment={experiment}", *SMALL_DEMO[1:], *steps, "test_after_training=false"]
    whole, halves = tmp_path / "whole", tmp_path / "halves"
    for path in (whole, halves):
        path.mkdir()
    train(whole, *run, "trainer.max_steps=12")
    train(halves, *run, "trainer.max_steps=7")
    assert optimizer_state(halves / "run" / "checkpoints" / "last.ckpt")[0] == 7
    train(halves, *run, "trainer.max_steps=12", "ckpt_path=last")
    last = Path("run") / "checkpoints" / "last.ckpt"
    assert_same_state(halves / last, whole / last, step=12)


def test_a_run_stopped_by_max_time_resumes_where_it_stopped(tmp_path: Path) -> None:
    """The budget ends mid-epoch, long before the first scheduled checkpoint: last.ckpt holds
    the final state, and a run resumed from it goes on as an uninterrupted one does."""
    short_batches = [
        *SMALL_DEMO, "data.batching.max_tokens=256", "trainer.val_check_interval=1000",
        "callbacks.steps.every_n_train_steps=100000", "test_after_training=false",
    ]  # fmt: skip
    budget, whole = tmp_path / "budget", tmp_path / "whole"
    for path in (budget, whole):
        path.mkdir()
    train(budget, *short_batches, "trainer.max_time=00:00:00:05")
    metadata = json.loads((budget / "run" / "model" / "metadata.json").read_text())
    stopped, _ = optimizer_state(budget / "run" / "checkpoints" / "last.ckpt")
    assert stopped == metadata["global_step"] > 0
    train(budget, *short_batches, f"trainer.max_steps={stopped + 3}", "ckpt_path=last")
    train(whole, *short_batches, f"trainer.max_steps={stopped + 3}")
    last = Path("run") / "checkpoints" / "last.ckpt"
    assert_same_state(budget / last, whole / last, step=stopped + 3)


def test_ddp_cpu_ranks_end_with_identical_parameters(tmp_path: Path) -> None:
    dump = tmp_path / "ranks"
    train(
        tmp_path, *SMALL_DEMO, "trainer=ddp_cpu", "trainer.max_steps=3",
        "trainer.val_check_interval=1000", "test_after_training=false",
        "+callbacks.dump._target_=tests.training.rank_dump.SaveParametersPerRank",
        f"+callbacks.dump.directory={dump}",
        env=os.environ | {"PYTHONPATH": str(REPO)}, shared_data=False,
    )  # fmt: skip
    rank0, rank1 = (load_file(str(dump / f"rank{r}.safetensors")) for r in (0, 1))
    assert rank0.keys() == rank1.keys()
    exported = load_model_dir(tmp_path / "run" / "model").model.state_dict()
    for name, tensor in rank0.items():
        assert torch.equal(tensor, rank1[name]), name
        assert torch.equal(tensor, exported[name]), name  # and what rank 0 exported


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_multinode_launch_by_torchrun_keeps_ranks_identical_and_writes_once(
    tmp_path: Path,
) -> None:
    """trainer=multinode as torchrun starts it on each node: here one node of two processes,
    on 127.0.0.1 with gloo on the CPU."""
    dump = tmp_path / "ranks"
    torchrun = Path(sys.executable).parent / "torchrun"
    launch = [str(torchrun), "--nnodes", "1", "--nproc-per-node", "2",
              "--master-addr", "127.0.0.1", "--master-port", str(free_port()),
              str(Path(sys.executable).parent / "seq2seq-train")]  # fmt: skip
    overrides = [
        *paths_under(tmp_path, shared_data=False), *SMALL_DEMO, "trainer=multinode",
        "trainer.num_nodes=1", "trainer.devices=2", "trainer.accelerator=cpu",
        "trainer.strategy.process_group_backend=gloo", "trainer.max_steps=4",
        "callbacks.steps.every_n_train_steps=2", "trainer.val_check_interval=1000",
        "test_after_training=false",
        "+callbacks.dump._target_=tests.training.rank_dump.SaveParametersPerRank",
        f"+callbacks.dump.directory={dump}",
        "+callbacks.writes._target_=tests.training.rank_dump.RecordCheckpointWrites",
        f"+callbacks.writes.directory={dump}",
    ]  # fmt: skip
    env = os.environ | {"PYTHONPATH": str(REPO)}
    result = subprocess.run([*launch, *overrides], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rank0, rank1 = (load_file(str(dump / f"rank{r}.safetensors")) for r in (0, 1))
    for name, tensor in rank0.items():
        assert torch.equal(tensor, rank1[name]), name
    writes = [(dump / f"writes-rank{r}.txt").read_text().splitlines() for r in (0, 1)]
    assert sorted(writes[0]) == ["last.ckpt", "last.ckpt", "step-000002.ckpt", "step-000004.ckpt"]
    assert writes[1] == []  # rank 1 writes nothing: each checkpoint is written once
    assert load_model_dir(tmp_path / "run" / "model").metadata["global_step"] == 4


def test_a_language_model_run_writes_a_language_model_directory(tmp_path: Path) -> None:
    """demo_lm: the Persian side alone, the checkpoint of lowest dev loss, a model directory
    that says what it is (and that seq2seq-sample takes)."""
    train(
        tmp_path, "experiment=demo_lm", *SMALL_DEMO[1:], "trainer.max_steps=10",
        "trainer.val_check_interval=10", "callbacks.steps.every_n_train_steps=10",
    )  # fmt: skip
    model = tmp_path / "run" / "model"
    loaded = load_model_dir(model, task="language_model")
    assert loaded.spec.task == "language_model" and loaded.model.cfg.encoder_layers == 0
    metadata = json.loads((model / "metadata.json").read_text())
    assert metadata["selected_by"] == "val/loss" and "val/ppl" in metadata["best_dev"]
    assert "val/bleu" not in metadata["best_dev"]
    assert len(run_command("seq2seq-sample", "-m", str(model), "-n", "2", cwd=tmp_path)
               .stdout.splitlines()) == 2  # fmt: skip


@pytest.mark.slow
def test_a_decoder_only_model_pretrained_on_both_sides_fine_tunes_to_translate(
    tmp_path: Path,
) -> None:
    """demo_lm of both sides, then the demo translated by the same decoder without an
    encoder: its dev BLEU is scored and its model directory translates."""
    steps = ["trainer.max_steps=10", "trainer.val_check_interval=10",
             "callbacks.steps.every_n_train_steps=10", "module.val_max_sentences=8"]  # fmt: skip
    (tmp_path / "lm").mkdir()
    train(tmp_path / "lm", "experiment=demo_lm", "lm_text=both", *SMALL_DEMO[1:], *steps)
    lm = tmp_path / "lm" / "run" / "model"
    assert load_model_dir(lm, task="language_model").spec.task == "language_model"
    train(tmp_path, "experiment=demo", "model=lm_tiny", f"init_from={lm}", *SMALL_DEMO[1:],
          *steps)  # fmt: skip
    model = tmp_path / "run" / "model"
    loaded = load_model_dir(model)
    assert loaded.model.cfg.decoder_only and loaded.spec.task == "translation"
    metadata = json.loads((model / "metadata.json").read_text())
    assert "val/bleu" in metadata["best_dev"] and metadata["init_from"] == str(lm)
    (tmp_path / "in.en").write_text("the red book\n", encoding="utf-8")
    result = run_command("seq2seq-translate", "-m", str(model), "-i", "in.en", "--beam", "2",
                         cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0 and len(result.stdout.splitlines()) == 1, result.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["experiment=demo", "model=lm_tiny", "tokenizer.joint=false"],
            "one vocabulary: set tokenizer.joint=true",
        ),
        (["experiment=demo_lm", "lm_text=all"], "lm_text=all: choose one of target, both"),
        (
            ["experiment=demo_lm", "model=transformer_tiny"],
            "task=language_model needs a decoder-only",
        ),
        (
            ["experiment=demo", "tokenizer.vocab_size=300"],
            "tokenizer.vocab_size=300 is too small for this data, which needs at least",
        ),
    ],
)
def test_a_setting_that_cannot_work_is_one_line(tmp_path, overrides, message) -> None:
    paths = paths_under(tmp_path)
    result = run_command("seq2seq-train", *paths, *overrides, *SMALL_DEMO[1:], cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.splitlines()) == 1
