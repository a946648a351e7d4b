"""Model presets from the Hydra tree (``conf/model/*.yaml``) as ``TransformerConfig`` objects."""

from __future__ import annotations

from importlib.resources import files

from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate

from seq2seq.model import TransformerConfig

FROM_INIT = "from_init"  # conf/model/from_init.yaml: no sizes of its own, init_from's model's


def model_presets() -> list[str]:
    """Names of the presets under ``conf/model/``, e.g. ``transformer_base`` (``from_init``,
    which takes the architecture of ``init_from``'s model, is none)."""
    return sorted(
        p.name.removesuffix(".yaml")
        for p in files("seq2seq.conf").joinpath("model").iterdir()
        if p.name.endswith(".yaml") and p.name != f"{FROM_INIT}.yaml"
    )


def load_model_config(
    preset: str, *, src_vocab_size: int, tgt_vocab_size: int
) -> TransformerConfig:
    """Compose ``conf/model/<preset>.yaml`` (its defaults included) with the vocabulary sizes
    filled in.

    Raises:
        ValueError: the preset does not exist (the message lists those that do).
    """
    if preset not in model_presets():
        raise ValueError(f"unknown model preset {preset!r}; choose one of {model_presets()}")
    overrides = [f"model={preset}"]
    if GlobalHydra.instance().is_initialized():  # inside a Hydra app: its config tree
        cfg = compose("train", overrides=overrides).model
    else:
        with initialize_config_module("seq2seq.conf", version_base="1.3"):
            cfg = compose("train", overrides=overrides).model
    return instantiate(cfg, src_vocab_size=src_vocab_size, tgt_vocab_size=tgt_vocab_size)
