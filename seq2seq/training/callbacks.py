"""Training callbacks of our own: export the model directory when training ends."""

from __future__ import annotations

import datetime
from dataclasses import asdict
from pathlib import Path

import pytorch_lightning as pl

import seq2seq
from seq2seq.inference.model_dir import ModelDirSpec, save_model_dir
from seq2seq.model import TransformerConfig
from seq2seq.training.checkpoint_io import read_checkpoint

SPEC_KEY = "seq2seq_model_dir_spec"


def spec_to_checkpoint(spec: ModelDirSpec, model: TransformerConfig) -> dict:
    """Plain types only, so that ``torch.load(weights_only=True)`` reads it back."""
    return spec.to_dict() | {"model": asdict(model)}


def spec_from_checkpoint(state: dict) -> tuple[ModelDirSpec, TransformerConfig]:
    """The inverse of ``spec_to_checkpoint`` (its tokenizer paths are absolute)."""
    return ModelDirSpec.from_dict(state, base=Path()), TransformerConfig(**state["model"])


class ExportModelDirectory(pl.Callback):
    """At the end of ``fit``, write the best checkpoint (else the last weights) as a model dir.

    The spec is also stored in every checkpoint, so ``seq2seq-average`` can export averages.
    """

    def __init__(self, directory: Path, spec: ModelDirSpec, data_summary: dict) -> None:
        self.directory = Path(directory)
        self.spec = spec
        self.data_summary = data_summary

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        checkpoint[SPEC_KEY] = spec_to_checkpoint(self.spec, pl_module.net.cfg)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
        metadata = {
            "seq2seq_version": seq2seq.__version__,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "data": self.data_summary,
            "global_step": trainer.global_step,
            "checkpoint": best or "final weights",
            "best_dev": {
                k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")
            },
        }
        net = pl_module.net
        if best:
            state = read_checkpoint(Path(best))["state_dict"]
            net = type(net)(net.cfg)
            net.load_state_dict({k.removeprefix("net."): v for k, v in state.items()})
            score = trainer.checkpoint_callback.best_model_score
            if score is not None:
                metadata["best_dev"][trainer.checkpoint_callback.monitor] = float(score)
        save_model_dir(self.directory, net.cpu().eval(), self.spec, metadata)
