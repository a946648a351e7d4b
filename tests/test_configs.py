"""Every experiment composes, and its data, tokenizer and model sections build their objects."""

from __future__ import annotations

from importlib.resources import files

import pytest
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import OmegaConf

from seq2seq.data.corpus import DataConfig
from seq2seq.data.tokenizer import TokenizerConfig
from seq2seq.model import TransformerConfig

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
    model = instantiate(cfg.model, src_vocab_size=100, tgt_vocab_size=100)
    assert isinstance(model, TransformerConfig)


def test_fa_en_reads_the_en_fa_corpora_the_other_way() -> None:
    en_fa = composed("prepare", ["experiment=en_fa_tiny", "hydra.runtime.cwd=/w"]).data
    fa_en = composed("prepare", ["experiment=fa_en_tiny", "hydra.runtime.cwd=/w"]).data
    assert (fa_en.src_lang, fa_en.tgt_lang) == ("fa", "en")
    assert fa_en.train == en_fa.train
    assert fa_en.root == en_fa.root
