"""Training callbacks of our own: ``last.ckpt`` up to the final update, the model directory."""

from __future__ import annotations

import copy
import datetime
from dataclasses import asdict
from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Checkpoint

from seq2seq.common.version import __version__
from seq2seq.model import TransformerConfig
from seq2seq.model.lora import has_lora, merge_lora
from seq2seq.modeldir.format import DATA, ModelDirSpec, check_destination, save_model_dir
from seq2seq.training.checkpoint_io import read_checkpoint

SPEC_KEY = "seq2seq_model_dir_spec"
DATA_KEY = "seq2seq_data"  # the training data's summary, for the metadata of an average


def spec_to_checkpoint(spec: ModelDirSpec, model: TransformerConfig) -> dict:
    """Plain types only, so that ``torch.load(weights_only=True)`` reads it back."""
    return spec.to_dict() | {"model": asdict(model)}


def spec_from_checkpoint(state: dict) -> tuple[ModelDirSpec, TransformerConfig]:
    """The inverse of ``spec_to_checkpoint`` (its tokenizer paths are absolute)."""
    return ModelDirSpec.from_dict(state, base=Path()), TransformerConfig.from_dict(state["model"])


def dev_scores(trainer: pl.Trainer) -> dict[str, float]:
    """The latest validation's ``val/...`` metrics."""
    return {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}


class ExportModelDirectory(pl.Callback):
    """At the end of ``fit``, write the best checkpoint (else the last weights) as a model dir.

    Its metadata give the dev scores of the weights written (``best_dev``), for the best
    checkpoint the metric that chose it (``selected_by``), and for a fine-tuned model the
    model directory it started from (``init_from``). The spec and the data summary are also
    stored in every checkpoint, so ``seq2seq-average`` can export averages.
    """

    def __init__(
        self,
        directory: Path,
        spec: ModelDirSpec,
        data_summary: dict,
        *,
        init_from: str | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.spec = spec
        self.data_summary = data_summary
        self.init_from = init_from
        self.dev_by_step: dict[int, dict[str, float]] = {}

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking:
            self.dev_by_step[trainer.global_step] = dev_scores(trainer)

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        check_destination(self.directory)  # before training, not after hours of it

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        checkpoint[SPEC_KEY] = spec_to_checkpoint(self.spec, pl_module.net.cfg)
        checkpoint[DATA_KEY] = self.data_summary

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
        metadata = {
            "seq2seq_version": __version__,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            DATA: self.data_summary,
            **({"init_from": self.init_from} if self.init_from else {}),
            "global_step": trainer.global_step,
            "checkpoint": best or "final weights",
            "best_dev": dev_scores(trainer),
        }
        net = copy.deepcopy(pl_module.net).cpu()  # with LoRA, the frozen weights: init_from's
        if best:
            checkpoint = read_checkpoint(Path(best))
            state = {k.removeprefix("net."): v for k, v in checkpoint["state_dict"].items()}
            net.load_state_dict(state, strict=not has_lora(net))
            metadata |= self.selection(trainer, step=checkpoint["global_step"])
        save_model_dir(self.directory, merge_lora(net).eval(), self.spec, metadata)

    def selection(self, trainer: pl.Trainer, *, step: int) -> dict:
        """``selected_by`` and the dev scores of the best checkpoint, saved at update ``step``."""
        callback = trainer.checkpoint_callback
        scores = dict(self.dev_by_step.get(step, {}))  # none if validated before a resume
        if callback.best_model_score is not None:
            scores[callback.monitor] = float(callback.best_model_score)
        return {"selected_by": callback.monitor, "best_dev": scores}


class LastCheckpoint(Checkpoint):
    """``last.ckpt``: the training state every ``every_n_train_steps`` updates and after the last.

    ``ModelCheckpoint(save_last=True)`` writes it on its own schedule only, so a run stopped
    by ``max_steps`` or ``max_time`` between two saves left ``last.ckpt`` up to
    ``every_n_train_steps - 1`` updates behind, and a resumed run trained those again. When
    no save had come before the end, it wrote one after training, when Lightning counts the
    epoch as done: a run resumed from that started the next epoch, in another data order.
    This callback saves right after a batch, as a scheduled save does. Lightning runs
    ``Checkpoint`` callbacks after the others, so it sees the stop that the ``max_time`` timer
    decides after the same batch.
    """

    def __init__(self, path: Path, *, every_n_train_steps: int) -> None:
        self.path = Path(path)
        self.every_n_train_steps = every_n_train_steps
        self._saved_step = 0

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: object,
        batch: object,
        batch_idx: int,
    ) -> None:
        step = trainer.global_step
        final = trainer.should_stop or 0 < trainer.max_steps <= step
        due = final or step % self.every_n_train_steps == 0
        if due and step != self._saved_step and not trainer.fast_dev_run:
            trainer.save_checkpoint(self.path)
            self._saved_step = step


class CarryOverOptimizer(pl.Callback):
    """Fine-tuning with ``init_optimizer``: the optimizer's and the schedule's state of the
    checkpoint the run started from, put in place before the first update (a resumed run
    keeps the state it saved)."""

    def __init__(self, optimizer_state: dict, scheduler_state: dict | None) -> None:
        self.optimizer_state = optimizer_state
        self.scheduler_state = scheduler_state

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.global_step:
            return
        trainer.optimizers[0].load_state_dict(self.optimizer_state)
        if self.scheduler_state is not None:
            trainer.lr_scheduler_configs[0].scheduler.load_state_dict(self.scheduler_state)
