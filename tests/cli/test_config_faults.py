"""A bad value in a config, as a newcomer types it, stops seq2seq-train (and seq2seq-prepare)
before training with one line that names the setting: never a library's traceback or Hydra's
report of one. Each case below ended in one before it was checked. The checks are tested where
they are made (in-process, in milliseconds), and each stage of a run once from the command line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from seq2seq.common.errors import ConfigError
from seq2seq.data.corpus import DataConfig
from seq2seq.data.tokenizer import TokenizerConfig
from seq2seq.training.run import build
from seq2seq.training.settings import check_settings
from tests.cli.test_train_cli import SMALL_DEMO, paths_under
from tests.helpers import data_cache, run_command
from tests.test_configs import composed

STEPS = "must be -1 (no limit) or a whole number >= 1"

# override -> the error, checked before anything is prepared (seq2seq.training.settings).
SETTINGS = {
    "seed=abc": "seed (abc) must be a whole number >= 0",
    "trainer.max_steps=-5": f"trainer.max_steps (-5) {STEPS}",
    "trainer.max_steps=abc": f"trainer.max_steps (abc) {STEPS}",
    "trainer.accumulate_grad_batches=0": (
        "trainer.accumulate_grad_batches (0) must be a whole number >= 1"
    ),
    "trainer.val_check_interval=0": "trainer.val_check_interval (0) must be a fraction of an "
    "epoch in (0, 1] or a whole number of batches >= 1",
    "callbacks.steps.every_n_train_steps=0": (
        "callbacks.steps.every_n_train_steps (0) must be a whole number >= 1"
    ),
    "optimizer.lr=-1": "optimizer.lr (-1) must be a number >= 0",
    "optimizer.lr=abc": "optimizer.lr (abc) must be a number >= 0",
    "optimizer.eps=-1": "optimizer.eps (-1) must be a number >= 0",
    "optimizer.betas=[1.5,0.98]": "optimizer.betas ([1.5, 0.98]) must be two numbers in [0, 1)",
    "scheduler.warmup_steps=0": "scheduler.warmup_steps (0) must be a whole number >= 1",
    "module.label_smoothing=1.5": "module.label_smoothing (1.5) must be a number in [0, 1)",
    "data.batching.max_tokens=0": "data.batching.max_tokens (0) must be a whole number >= 1",
    "data.batching.num_workers=-1": "data.batching.num_workers (-1) must be a whole number >= 0",
    "data.generate.train=0": "data.generate.train (0) must be a whole number >= 1",
}
# override -> the error, as the data's and the tokenizer's sections are read.
DATA = {
    "tokenizer.model_type=foo": "tokenizer.model_type (foo) must be unigram or bpe",
    "tokenizer.vocab_size=0": "tokenizer.vocab_size (0) must be a whole number >= 4",
    "tokenizer.character_coverage=2": (
        "tokenizer.character_coverage (2) must be a number in [0.98, 1]"
    ),
    "data.normalization.fa.digits=roman": (
        "data.normalization.fa: digits must be one of ['keep', 'latin', 'persian'], got 'roman'"
    ),
    "data.normalization.fa.unicode_form=NFX": (
        "data.normalization.fa: unicode_form must be one of NFC, NFD, NFKC, NFKD or null, got 'NFX'"
    ),
}
# override -> the error, as the model is built for the prepared vocabularies (1000 and 942).
MODEL = {
    "model.d_model=130": "model: d_model (130) must be divisible by n_heads (4)",
    "model.n_heads=0": "model: n_heads must be at least 1, got 0",
    "model.dropout=1.0": "model: dropout must be in [0, 1), got 1.0",
    "model.max_positions=0": "model: max_positions must be at least 1, got 0",
    "tokenizer=spm_separate": "model: share_embeddings needs one joint vocabulary, got "
    "src_vocab_size=1000 and tgt_vocab_size=942",
}
# override -> the line, as the batches are planned from the prepared data.
BATCHES = {
    "data.batching.max_tokens=3": "data.batching.max_tokens (3) must be at least 10, the tokens "
    "of the longest train example, or lower data.filters.max_tokens",
    "data.batching.eval_max_tokens=3": "data.batching.eval_max_tokens (3) must be at least 10, "
    "the tokens of the longest valid example",
}
# override -> how Lightning words it, after "error: trainer: ".
TRAINER_ARGUMENTS = {
    "trainer.precision=bogus": "Precision 'bogus' is invalid",
    "trainer.devices=0": "`Trainer(devices=0)` value is not a valid input",
    "+trainer.max_step=10": "Trainer.__init__() got an unexpected keyword argument 'max_step'",
}


def demo_config(override: str):
    """The small demo's training config with ``override``."""
    return composed("train", [*SMALL_DEMO, override, "hydra.runtime.cwd=/work"])


def refused(check, *args, **kwargs) -> str:
    """The message of the ConfigError that ``check(*args, **kwargs)`` raises."""
    with pytest.raises(ConfigError) as error:
        check(*args, **kwargs)
    return str(error.value)


@pytest.mark.parametrize("override", SETTINGS)
def test_a_bad_value_is_refused_before_anything_is_prepared(override: str) -> None:
    assert refused(check_settings, demo_config(override)) == SETTINGS[override]


@pytest.mark.parametrize("override", DATA)
def test_a_bad_data_or_tokenizer_value_is_refused_as_it_is_read(override: str) -> None:
    cfg = demo_config(override)
    message = refused(lambda: [
        TokenizerConfig(**OmegaConf.to_container(cfg.tokenizer, resolve=True)),
        DataConfig.from_config(OmegaConf.to_container(cfg.data, resolve=True)),
    ])  # fmt: skip
    assert message == DATA[override]


@pytest.mark.parametrize("override", MODEL)
def test_a_bad_model_value_is_refused_naming_the_model(override: str) -> None:
    separate = override == "tokenizer=spm_separate"  # its target vocabulary came out smaller
    vocabularies = {"src_vocab_size": 1000, "tgt_vocab_size": 942 if separate else 1000}
    message = refused(build, demo_config(override).model, setting="model", **vocabularies)
    assert message == MODEL[override]


def failed_training(work: Path, *overrides: str) -> list[str]:
    """The stderr lines of a small demo run with ``overrides``, which must fail."""
    paths = paths_under(work)
    result = run_command("seq2seq-train", *paths, *SMALL_DEMO, *overrides, cwd=work)
    assert result.returncode == 1, result.stderr[-3000:]
    return result.stderr.splitlines()


@pytest.mark.parametrize(
    ("override", "line"),
    [
        ("seed=abc", SETTINGS["seed=abc"]),
        ("tokenizer.model_type=foo", DATA["tokenizer.model_type=foo"]),
        ("model.d_model=130", MODEL["model.d_model=130"]),
        *BATCHES.items(),
    ],
)
def test_each_stage_of_a_run_says_a_bad_value_in_one_line(
    tmp_path: Path, override: str, line: str
) -> None:
    assert failed_training(tmp_path, override) == [f"error: {line}"]


@pytest.mark.parametrize("override", TRAINER_ARGUMENTS)
def test_an_argument_the_trainer_refuses_is_refused_naming_the_trainer(
    tmp_path: Path, override: str
) -> None:
    trainer = demo_config(override).trainer
    message = refused(build, trainer, setting="trainer", logger=False, default_root_dir=tmp_path)
    assert message.startswith(f"trainer: {TRAINER_ARGUMENTS[override]}")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_a_gpu_run_on_a_machine_without_one_is_refused() -> None:
    assert refused(check_settings, demo_config("trainer=gpu")) == (
        "trainer.accelerator (gpu) must be cpu or auto: this machine has no CUDA GPU"
    )


def test_a_demo_root_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").touch()
    root = tmp_path / "a-file" / "sub" / "demo"
    assert failed_training(tmp_path, f"data.root={root}") == [
        f"error: data.root ({root}) must be a folder the demo corpus can be written to: "
        "Not a directory"
    ]


def test_filters_that_drop_every_pair_are_one_line(tmp_path: Path) -> None:
    root = data_cache() / "data" / "demo-1-2000"
    assert failed_training(tmp_path, "data.scripts.fa=latin") == [
        f"error: {root}: no training pair is left of the 2000 read (dropped: target not latin "
        "script 2000): check data.train, data.scripts and data.filters"
    ]


@pytest.mark.parametrize(
    ("override", "line"),
    [("tokenizer.model_type=foo", DATA["tokenizer.model_type=foo"]),
     ("seed=abc", SETTINGS["seed=abc"])],
)  # fmt: skip
def test_prepare_says_the_same_in_one_line(tmp_path: Path, override: str, line: str) -> None:
    result = run_command("seq2seq-prepare", *paths_under(tmp_path), *SMALL_DEMO, override,
                         cwd=tmp_path)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr == f"error: {line}\n"


def test_prepare_leaves_the_training_settings_to_training(tmp_path: Path) -> None:
    # Data are often prepared on a machine other than the one that trains (without its GPU).
    result = run_command("seq2seq-prepare", *paths_under(tmp_path), *SMALL_DEMO, "trainer=gpu",
                         "trainer.max_steps=-5", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
