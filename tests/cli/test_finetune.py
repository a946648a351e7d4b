"""seq2seq-train init_from=MODEL_DIR: fine-tuning from a model directory, as a user runs it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from seq2seq.modeldir.format import load_model_dir
from tests.cli.test_train_cli import SMALL_DEMO, paths_under, train
from tests.helpers import run_command

# A demo corpus drawn with another seed: its own SentencePiece model would differ.
OTHER_DATA = ["data.generate.seed=2", "data.generate.train=500"]


@pytest.fixture(scope="module")
def general(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model directory of 10 updates on the small demo (its run's last.ckpt beside it)."""
    work = tmp_path_factory.mktemp("general")
    train(work, *SMALL_DEMO, "trainer.max_steps=10", "test_after_training=false")
    return work / "run" / "model"


def optimizer_and_schedule_steps(checkpoint: Path) -> tuple[int, set[int], int]:
    """(the run's update count, Adam's step counts, the schedule's position) of a checkpoint."""
    state = torch.load(checkpoint, weights_only=True)
    adam = {int(s["step"]) for s in state["optimizer_states"][0]["state"].values()}
    return state["global_step"], adam, state["lr_schedulers"][0]["last_epoch"]


@pytest.mark.parametrize("source", ["model", "checkpoints/last.ckpt"])
def test_fine_tuning_starts_from_the_weights_and_keeps_the_tokenizer(
    general: Path, tmp_path: Path, source: str
) -> None:
    start_from = general.parent / source
    # With a learning rate of 0 the updates change nothing: what is exported is what was loaded.
    train(
        tmp_path, *SMALL_DEMO, *OTHER_DATA, f"init_from={start_from}", "trainer.max_steps=3",
        "optimizer.lr=0.0", "test_after_training=false",
    )  # fmt: skip
    tuned, start = load_model_dir(tmp_path / "run" / "model"), load_model_dir(general)
    for name, tensor in start.model.state_dict().items():
        torch.testing.assert_close(tuned.model.state_dict()[name], tensor, rtol=0, atol=0)
    assert (tmp_path / "run/model/spm.model").read_bytes() == (general / "spm.model").read_bytes()
    assert tuned.metadata["init_from"] == str(start_from)
    # The optimizer and the schedule start fresh: 3 updates, not 13.
    assert optimizer_and_schedule_steps(tmp_path / "run/checkpoints/last.ckpt") == (3, {3}, 3)


def test_init_optimizer_carries_a_checkpoints_optimizer_and_schedule_over(
    general: Path, tmp_path: Path
) -> None:
    checkpoint = general.parent / "checkpoints" / "last.ckpt"
    assert optimizer_and_schedule_steps(checkpoint) == (10, {10}, 10)
    train(tmp_path, *SMALL_DEMO, *OTHER_DATA, f"init_from={checkpoint}", "init_optimizer=true",
          "trainer.max_steps=3", "test_after_training=false")  # fmt: skip
    # A new run of 3 updates whose Adam moments and schedule went on from update 10.
    assert optimizer_and_schedule_steps(tmp_path / "run/checkpoints/last.ckpt") == (3, {13}, 13)


def test_init_optimizer_needs_a_checkpoint(general: Path, tmp_path: Path) -> None:
    args = [*SMALL_DEMO, f"init_from={general}", "init_optimizer=true"]
    result = run_command("seq2seq-train", *paths_under(tmp_path), *args, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (
        f"error: init_optimizer=true needs a checkpoint; init_from={general} is a model "
        "directory, which holds no optimizer state\n"
    )


def test_fine_tuning_changes_the_weights(general: Path, tmp_path: Path) -> None:
    train(tmp_path, *SMALL_DEMO, *OTHER_DATA, f"init_from={general}", "trainer.max_steps=3",
          "test_after_training=false")  # fmt: skip
    tuned, start = load_model_dir(tmp_path / "run" / "model"), load_model_dir(general)
    changed = [
        name
        for name, tensor in start.model.state_dict().items()
        if not torch.equal(tuned.model.state_dict()[name], tensor)
    ]
    assert changed


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.d_model=64", "does not fit the experiment's model: d_model 128 (model) vs 64"),
        ("model.encoder_layers=3", "encoder_layers 2 (model) vs 3 (experiment)"),
        ("data.src_lang=fa", "translates en-fa but the experiment's data is fa-en"),
    ],
)
def test_a_model_that_does_not_fit_is_one_line_before_any_update(
    general: Path, tmp_path: Path, override: str, message: str
) -> None:
    args = [*SMALL_DEMO, override, f"init_from={general}", "trainer.max_steps=3"]
    if override.startswith("data."):
        args.append("data.tgt_lang=en")
    result = run_command("seq2seq-train", *paths_under(tmp_path), *args, cwd=tmp_path)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: init_from={general}") and message in line
    assert not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("nothing", "not found: init_from takes a model directory or a checkpoint"),
        ("folder", "config.yaml: file not found: not a model directory"),
        ("file.ckpt", "not a readable checkpoint (UnpicklingError)"),
    ],
)
def test_init_from_what_is_neither_a_model_nor_a_checkpoint(
    tmp_path: Path, name: str, message: str
) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "file.ckpt").write_text("not a checkpoint")
    args = [*SMALL_DEMO, f"init_from={tmp_path / name}"]
    result = run_command("seq2seq-train", *paths_under(tmp_path), *args, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {tmp_path / name}") and result.stderr.count("\n") == 1
    assert message in result.stderr


@pytest.mark.parametrize("part", ["embeddings", "encoder"])
def test_a_frozen_part_keeps_its_weights_and_the_rest_trains(
    general: Path, tmp_path: Path, part: str
) -> None:
    train(tmp_path, *SMALL_DEMO, *OTHER_DATA, f"init_from={general}", f"module.freeze=[{part}]",
          "trainer.max_steps=3", "test_after_training=false")  # fmt: skip
    tuned, start = load_model_dir(tmp_path / "run" / "model"), load_model_dir(general)
    frozen = "embed." if part == "embeddings" else "encoder."
    changed = {
        name: not torch.equal(tensor, start.model.state_dict()[name])
        for name, tensor in tuned.model.state_dict().items()
    }
    assert not any(moved for name, moved in changed.items() if frozen in name)
    assert any(moved for name, moved in changed.items() if "decoder.layers" in name)
    if part == "embeddings":  # tied to the embeddings: the output projection stays too
        assert not changed["decoder.output_proj.weight"]


def test_an_unknown_part_to_freeze_is_one_line(general: Path, tmp_path: Path) -> None:
    args = [*SMALL_DEMO, f"init_from={general}", "module.freeze=[attention]"]
    result = run_command("seq2seq-train", *paths_under(tmp_path), *args, cwd=tmp_path)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "module.freeze" in line and "embeddings, encoder" in line


def test_early_stopping_ends_a_run_whose_dev_bleu_stops_rising(
    general: Path, tmp_path: Path
) -> None:
    # a learning rate of 0: the dev BLEU never rises, so patience 1 stops the run at the
    # second validation (updates 2 and 4), long before max_steps
    train(tmp_path, *SMALL_DEMO, *OTHER_DATA, f"init_from={general}", "optimizer.lr=0.0",
          "callbacks=early_stopping", "callbacks.early_stopping.patience=1",
          "trainer.val_check_interval=2", "trainer.max_steps=40",
          "test_after_training=false")  # fmt: skip
    assert load_model_dir(tmp_path / "run" / "model").metadata["global_step"] == 4


def test_lora_checkpoints_hold_the_adapters_and_the_model_directory_merges_them(
    general: Path, tmp_path: Path
) -> None:
    train(tmp_path, *SMALL_DEMO, *OTHER_DATA, f"init_from={general}", "module.lora.rank=4",
          "module.lora.targets=[feed_forward]", "trainer.val_check_interval=2",
          "trainer.max_steps=4")  # fmt: skip
    for name in ("best.ckpt", "last.ckpt"):
        state = torch.load(tmp_path / "run" / "checkpoints" / name, weights_only=True)
        keys = list(state["state_dict"])
        assert keys and all(".ffn.w_" in key and ".lora_" in key for key in keys)
    tuned, start = load_model_dir(tmp_path / "run" / "model"), load_model_dir(general)
    assert tuned.model.cfg == start.model.cfg
    assert all(".lora_" not in name for name in tuned.model.state_dict())
    for name, tensor in tuned.model.state_dict().items():
        moved = not torch.equal(tensor, start.model.state_dict()[name])
        assert moved == (name.endswith(("ffn.w_1.weight", "ffn.w_2.weight"))), name
    averaged = run_command("seq2seq-average", str(tmp_path / "run/checkpoints/last.ckpt"),
                           "-o", "avg", cwd=tmp_path)  # fmt: skip
    assert averaged.returncode == 1 and "holds LoRA adapters alone" in averaged.stderr
