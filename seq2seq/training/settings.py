"""The settings of a composed train/prepare config that no dataclass of ours checks (the
Trainer's, the optimizer's, the schedule's, ...), checked before anything is prepared or built:
a bad value is one line naming it, not a library's traceback minutes later."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from omegaconf import Container, DictConfig, OmegaConf

from seq2seq.common.settings import (
    Allowed,
    is_number,
    is_whole,
    list_of,
    number,
    require,
    whole,
)
from seq2seq.model.lora import LORA_TARGETS
from seq2seq.training.freeze import FREEZABLE

STEPS = Allowed(
    "-1 (no limit) or a whole number >= 1",
    lambda value: is_whole(value) and (value == -1 or value >= 1),
)
VALIDATION_INTERVAL = Allowed(
    "a fraction of an epoch in (0, 1] or a whole number of batches >= 1",
    lambda value: (
        value is None  # Lightning's default: once an epoch
        or (is_whole(value) and value >= 1)
        or (isinstance(value, float) and 0 < value <= 1)
    ),
)
BETAS = Allowed(
    "two numbers in [0, 1)",
    lambda value: (
        isinstance(value, list)
        and len(value) == 2
        and all(is_number(beta) and 0 <= beta < 1 for beta in value)
    ),
)
ACCELERATOR = Allowed(
    "cpu or auto: this machine has no CUDA GPU",
    lambda value: value not in ("gpu", "cuda") or torch.cuda.is_available(),
)

# What seq2seq-prepare reads; seq2seq-train reads these and the rest. (A prepare run on a
# machine without the GPU that training will have must not be refused.)
PREPARATION: dict[str, Allowed] = {
    "seed": whole(0),
    "data.generate.train": whole(1),
    "data.generate.dev": whole(1),
    "data.generate.test": whole(1),
}
TRAINING: dict[str, Allowed] = PREPARATION | {
    "data.batching.max_tokens": whole(1),
    "data.batching.num_workers": whole(0),
    "trainer.accelerator": ACCELERATOR,
    "trainer.max_steps": STEPS,
    "trainer.accumulate_grad_batches": whole(1),
    "trainer.val_check_interval": VALIDATION_INTERVAL,
    "callbacks.steps.every_n_train_steps": whole(1),
    "optimizer.lr": number(">= 0", lambda lr: lr >= 0),
    "optimizer.eps": number(">= 0", lambda eps: eps >= 0),
    "optimizer.betas": BETAS,
    "scheduler.warmup_steps": whole(1),
    "module.label_smoothing": number("in [0, 1)", lambda smoothing: 0 <= smoothing < 1),
    "module.lora.rank": whole(0),
    "module.lora.alpha": number("> 0", lambda alpha: alpha > 0),
    "module.lora.targets": list_of(*LORA_TARGETS),
    "module.freeze": list_of(*FREEZABLE),
}
_ABSENT = object()


def check_settings(cfg: DictConfig, *, settings: Mapping[str, Allowed] = TRAINING) -> None:
    """Check each of ``settings`` that ``cfg`` has.

    Raises:
        ConfigError: naming the first setting whose value is not allowed.
    """
    for setting, allowed in settings.items():
        value = _value(cfg, setting)
        if value is not _ABSENT:
            require(setting, value, allowed)


def _value(cfg: DictConfig, setting: str) -> Any:
    """The resolved value of ``setting`` (a list or mapping as plain Python), or ``_ABSENT``."""
    value = OmegaConf.select(cfg, setting, default=_ABSENT)
    return OmegaConf.to_container(value, resolve=True) if isinstance(value, Container) else value
