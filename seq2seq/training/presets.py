"""Model presets from the Hydra tree (``conf/model/*.yaml``) as ``TransformerConfig`` objects."""

from __future__ import annotations

from importlib.resources import files

from hydra.utils import instantiate
from omegaconf import OmegaConf

from seq2seq.model import TransformerConfig


def model_presets() -> list[str]:
    """Names of the presets under ``conf/model/``, e.g. ``transformer_base``."""
    return sorted(
        p.name.removesuffix(".yaml")
        for p in files("seq2seq.conf").joinpath("model").iterdir()
        if p.name.endswith(".yaml")
    )


def load_model_config(
    preset: str, *, src_vocab_size: int, tgt_vocab_size: int
) -> TransformerConfig:
    """Instantiate ``conf/model/<preset>.yaml`` with the vocabulary sizes filled in.

    Raises:
        ValueError: the preset does not exist (the message lists those that do).
    """
    path = files("seq2seq.conf").joinpath("model", f"{preset}.yaml")
    if not path.is_file():
        raise ValueError(f"unknown model preset {preset!r}; choose one of {model_presets()}")
    cfg = OmegaConf.create(path.read_text(encoding="utf-8"))
    cfg.src_vocab_size = src_vocab_size
    cfg.tgt_vocab_size = tgt_vocab_size
    return instantiate(cfg)
