"""Every experiment composes, and its data, tokenizer and model sections build their objects."""

from __future__ import annotations

from dataclasses import fields, replace
from importlib.resources import files

import pytest
import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import OmegaConf

from seq2seq.common.errors import ConfigError
from seq2seq.data.corpus import DataConfig
from seq2seq.data.tokenizer import TokenizerConfig
from seq2seq.inference.options import DecodingOptions
from seq2seq.model import TransformerConfig
from seq2seq.training.precision import resolve_precision

EXPERIMENTS = sorted(
    p.name.removesuffix(".yaml")
    for p in files("seq2seq.conf").joinpath("experiment").iterdir()
    if p.name.endswith(".yaml")
)


def composed(config_name: str, overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_module("seq2seq.conf", version_base="1.3"):
        cfg = compose(config_name, overrides=overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)  # what @hydra.main does; ${hydra:...} needs it
    return cfg


@pytest.mark.parametrize("experiment", EXPERIMENTS)
@pytest.mark.parametrize("config_name", ["prepare", "train"])
def test_experiment_composes_and_builds(config_name: str, experiment: str) -> None:
    cfg = composed(config_name, [f"experiment={experiment}", "hydra.runtime.cwd=/work"])
    section = OmegaConf.to_container(cfg.data, resolve=True)
    data = DataConfig.from_config(section)
    assert data.root.is_absolute()
    assert {data.src_lang, data.tgt_lang} == {"en", "fa"}
    assert data.filters.tgt_script == {"en": "latin", "fa": "arabic"}[data.tgt_lang]
    TokenizerConfig(**OmegaConf.to_container(cfg.tokenizer, resolve=True))
    if OmegaConf.is_missing(cfg.model, "d_model"):  # model=from_init: init_from's architecture
        assert experiment.startswith("pretrained_")
        return
    model = instantiate(cfg.model, src_vocab_size=100, tgt_vocab_size=100)
    assert isinstance(model, TransformerConfig)


def test_fa_en_reads_the_en_fa_corpora_the_other_way() -> None:
    en_fa = composed("prepare", ["experiment=en_fa_tiny", "hydra.runtime.cwd=/w"]).data
    fa_en = composed("prepare", ["experiment=fa_en_tiny", "hydra.runtime.cwd=/w"]).data
    assert (fa_en.src_lang, fa_en.tgt_lang) == ("fa", "en")
    assert fa_en.train == en_fa.train
    assert fa_en.root == en_fa.root


@pytest.mark.parametrize(
    "pair", [("en_fa_tiny", "fa_en_tiny"), ("pretrained_en_fa", "pretrained_fa_en")]
)
def test_the_two_recipe_experiments_differ_only_in_direction(pair: tuple[str, str]) -> None:
    def settings(experiment: str) -> dict:
        cfg = composed("train", [f"experiment={experiment}", "hydra.runtime.cwd=/w"])
        del cfg.data.src_lang, cfg.data.tgt_lang, cfg.hydra
        return OmegaConf.to_container(cfg)

    assert settings(pair[0]) == settings(pair[1])


def group_options(group: str) -> list[str]:
    folder = files("seq2seq.conf").joinpath(group)
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


@pytest.mark.parametrize("trainer", ["cpu", "ddp_cpu", "gpu", "multinode"])
@pytest.mark.parametrize("logger", group_options("logger"))
@pytest.mark.parametrize("scheduler", group_options("scheduler"))
def test_every_group_option_composes_and_instantiates(trainer, logger, scheduler, tmp_path):
    overrides = [f"trainer={trainer}", f"logger={logger}", f"scheduler={scheduler}"]
    cfg = composed("train", [*overrides, f"hydra.runtime.cwd={tmp_path}"])
    for callback in cfg.callbacks.values():
        assert isinstance(instantiate(callback), pl.Callback)
    for each in cfg.logger.values():
        assert isinstance(instantiate(each), pl.loggers.Logger)
    parameter = torch.nn.Parameter(torch.zeros(2))
    optimizer = instantiate(cfg.optimizer)([parameter])
    instantiate(cfg.scheduler)(optimizer)
    if trainer in ("cpu", "ddp_cpu"):  # a GPU trainer cannot be built on a machine without one
        precision = resolve_precision(
            cfg.trainer.precision, accelerator=cfg.trainer.accelerator, d_model=512
        )
        assert isinstance(instantiate(cfg.trainer, precision=precision, logger=False), pl.Trainer)
    assert group_options("trainer") == ["cpu", "ddp_cpu", "default", "gpu", "multinode"]


def test_separate_vocabularies_differ_from_the_joint_one_only_in_joint() -> None:
    joint, separate = (
        TokenizerConfig(
            **OmegaConf.to_container(composed("train", [f"tokenizer={name}"]).tokenizer)
        )
        for name in ("spm_joint", "spm_separate")
    )
    assert joint.joint and separate == replace(joint, joint=False)


def test_training_decodes_dev_sets_greedily_with_the_shared_defaults() -> None:
    decoding = OmegaConf.to_container(composed("train", []).decoding)
    assert DecodingOptions.from_config(decoding) == DecodingOptions(beam_size=1)
    assert set(decoding) == {f.name for f in fields(DecodingOptions)}
    changed = OmegaConf.to_container(composed("train", ["decoding.max_len_b=20"]).decoding)
    assert DecodingOptions.from_config(changed) == DecodingOptions(beam_size=1, max_len_b=20)
    with pytest.raises(ConfigError, match="unexpected keyword argument 'beam'"):
        DecodingOptions.from_config({"beam": 5})
    with pytest.raises(ConfigError, match="unexpected keyword argument 'temp'"):
        DecodingOptions.from_config({"sampling": {"temp": 0.7}})
