"""The LightningModule: teacher-forced training, validation loss and BLEU, test BLEU."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_warn
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from seq2seq.common.special import PAD_ID
from seq2seq.data.batching import Batch
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.search.decode import decode
from seq2seq.inference.search.scorers import ModelScorer
from seq2seq.model.lora import has_lora
from seq2seq.training.errors import NonFiniteLossError
from seq2seq.training.loss import LabelSmoothedCrossEntropy
from seq2seq.training.scorer import TranslationScorer


class TranslationModule(pl.LightningModule):
    """Trains ``net`` on Batches; scores decoded dev/test sets with sacrebleu.

    A decoder-only ``net`` reads ``prev_output`` alone: a language model's sentences, with no
    translations to score (``scorer`` None; its dev perplexity is ``val/ppl``), or each pair
    as one sequence whose ``target`` is padding under the source (no loss there), and which
    decodes from the source like the encoder-decoder (``DecoderOnlyTransformer.start_decoding``).

    Args:
        net: the model, of either architecture: its ``teacher_forced(src, prev_output,
            select=real target positions)`` returns the logits there.
        loss: label-smoothed cross-entropy.
        optimizer: factory, parameters -> Optimizer (a Hydra ``_partial_``).
        scheduler: factory, Optimizer -> scheduler stepped every update; or None.
        decoding: how validation and test decode ``net``'s translations for BLEU.
        scorer: detokenizes and scores against references; None skips BLEU.
        max_nonfinite_steps: a batch whose loss is inf or NaN is skipped with a warning; this
            many in a row stop training with NonFiniteLossError (checkpoints already written
            stay as they are).
    """

    def __init__(
        self,
        net: nn.Module,
        *,
        loss: LabelSmoothedCrossEntropy,
        optimizer: Callable[[Iterable[nn.Parameter]], Optimizer],
        scheduler: Callable[[Optimizer], LRScheduler] | None,
        decoding: DecodingOptions,
        scorer: TranslationScorer | None = None,
        max_nonfinite_steps: int = 10,
    ) -> None:
        super().__init__()
        self.net = net
        self.strict_loading = not has_lora(net)  # its checkpoints hold the adapters alone
        self.loss = loss
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.decoding = decoding
        self.scorer = scorer
        self._hypotheses: dict[int, dict[int, list[int]]] = {}
        self._last_step_time: float | None = None
        self.max_nonfinite_steps = max_nonfinite_steps
        self._nonfinite_in_a_row = 0

    def teacher_forced_loss(self, batch: Batch) -> tuple[Tensor, Tensor]:
        """Teacher-forced (loss, nll) of a batch, per real target token."""
        real = batch.target.ne(PAD_ID)  # the tokens the loss scores, eos included
        logits = self.net.teacher_forced(
            batch.src, batch.prev_output, select=real
        )  # (tokens, vocab)
        return self.loss(logits, batch.target[batch.target.ne(PAD_ID)])

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor | None:
        loss, nll = self.teacher_forced_loss(batch)
        if not torch.isfinite(loss):
            return self._skip_nonfinite(loss)
        self._nonfinite_in_a_row = 0
        tokens = batch.target_tokens
        self.log("train/loss", loss, prog_bar=True, batch_size=tokens)
        self.log("train/nll", nll, batch_size=tokens)
        self.log("lr", self.optimizers().param_groups[0]["lr"], prog_bar=True, batch_size=1)
        now = time.perf_counter()
        if self._last_step_time is not None:
            self.log("tok/s", tokens / (now - self._last_step_time), prog_bar=True, batch_size=1)
        self._last_step_time = now
        return loss

    def _skip_nonfinite(self, loss: Tensor) -> None:
        """Skip this update (Lightning does no backward or step for None), or stop training."""
        self._nonfinite_in_a_row += 1
        if self._nonfinite_in_a_row >= self.max_nonfinite_steps:
            raise NonFiniteLossError(
                f"training stopped after {self._nonfinite_in_a_row} updates in a row with a "
                f"non-finite loss (step {self.global_step}); the checkpoints written before are "
                "untouched: resume from one with a lower learning rate, or check the data"
            )
        rank_zero_warn(
            f"non-finite loss ({loss.item()}) at step {self.global_step}: update skipped"
        )
        return None

    def _decode_and_keep(self, batch: Batch, dataloader_idx: int) -> None:
        if self.scorer is None:
            return
        hypotheses = [h[0].tokens for h in decode(ModelScorer(self.net), batch.src, self.decoding)]
        store = self._hypotheses.setdefault(dataloader_idx, {})
        store.update(zip(batch.indices.tolist(), hypotheses, strict=True))

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        loss, nll = self.teacher_forced_loss(batch)
        tokens = batch.target_tokens
        self.log("val/loss", loss, batch_size=tokens, sync_dist=True)
        self.log("val/nll", nll, batch_size=tokens, sync_dist=True)
        self._decode_and_keep(batch, 0)

    def on_validation_epoch_start(self) -> None:
        self._hypotheses = {}

    def on_validation_epoch_end(self) -> None:
        nll = self.trainer.callback_metrics.get("val/nll")
        if nll is not None:
            self.log("val/ppl", math.exp(min(float(nll), 50.0)), sync_dist=True)
        if self.scorer is not None:
            scores = self.scorer.score("valid", self._gathered(0))
            self.log("val/bleu", scores.bleu, prog_bar=True, sync_dist=True)
            self.log("val/chrf", scores.chrf, sync_dist=True)

    def test_step(self, batch: Batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._decode_and_keep(batch, dataloader_idx)

    def on_test_epoch_start(self) -> None:
        self._hypotheses = {}

    def on_test_epoch_end(self) -> None:
        if self.scorer is None:
            return
        for index, split in enumerate(self.scorer.test_splits):
            scores = self.scorer.score(split, self._gathered(index))
            name = split.removeprefix("test.")
            self.log(f"test/{name}/bleu", scores.bleu, add_dataloader_idx=False, sync_dist=True)
            self.log(f"test/{name}/chrf", scores.chrf, add_dataloader_idx=False, sync_dist=True)

    def _gathered(self, dataloader_idx: int) -> dict[int, list[int]]:
        """This rank's hypotheses, merged with every other rank's under DDP."""
        mine = self._hypotheses.get(dataloader_idx, {})
        if self.trainer.world_size == 1:
            return mine
        everyone: list[dict[int, list[int]]] = [{} for _ in range(self.trainer.world_size)]
        torch.distributed.all_gather_object(everyone, mine)
        return {index: ids for part in everyone for index, ids in part.items()}

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["torch_rng_state"] = torch.get_rng_state()
        if has_lora(self.net):  # the adapters alone: the rest is init_from's, as it was loaded
            trainable = {
                f"net.{name}" for name, p in self.net.named_parameters() if p.requires_grad
            }
            checkpoint["state_dict"] = {
                key: value for key, value in checkpoint["state_dict"].items() if key in trainable
            }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if "torch_rng_state" in checkpoint:
            torch.set_rng_state(checkpoint["torch_rng_state"])
