"""Checkpoint averaging: the mean of the weights of several checkpoints as one model.

Averaging the last few checkpoints of a run (Vaswani et al. 2017, Section 6.1: "the last 5
checkpoints") smooths the noise of the final updates and usually adds a little BLEU.
"""

from __future__ import annotations

from pathlib import Path

from torch import Tensor

from seq2seq.common.errors import DataError
from seq2seq.model import Model, build_model
from seq2seq.training.callbacks import DATA_KEY, SPEC_KEY, spec_from_checkpoint
from seq2seq.training.checkpoint_io import read_checkpoint


def average_checkpoints(paths: list[Path]) -> tuple[Model, dict, dict | None]:
    """A model holding the mean weights of ``paths``, and the first checkpoint's spec and
    training data summary (None in a checkpoint older than the summary's key).

    Raises:
        DataError: a file is missing, unreadable, not from seq2seq-train, or holds other
            parameters than the first.
    """
    total: dict[str, Tensor] = {}
    spec_state = data = None
    for path in paths:
        checkpoint = read_checkpoint(path)
        if SPEC_KEY not in checkpoint:
            raise DataError(path, "not a seq2seq-train checkpoint (no model directory spec)")
        if spec_state is None:
            spec_state, data = checkpoint[SPEC_KEY], checkpoint.get(DATA_KEY)
        weights = {
            k.removeprefix("net."): v
            for k, v in checkpoint["state_dict"].items()
            if k.startswith("net.")
        }
        if any(".lora_" in name for name in weights):
            why = "not averaged: its run's model directory merges them"
            raise DataError(path, f"holds LoRA adapters alone (module.lora), {why}")
        if total and weights.keys() != total.keys():
            raise DataError(path, f"has other parameters than {paths[0]}")
        for name, tensor in weights.items():
            total[name] = total.get(name, 0) + tensor.double()
    _, model_config = spec_from_checkpoint(spec_state)
    model = build_model(model_config)
    model.load_state_dict({name: (t / len(paths)).float() for name, t in total.items()})
    return model.eval(), spec_state, data
