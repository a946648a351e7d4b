"""The LightningDataModule serving train / valid / test batches from a prepared directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from seq2seq.common.settings import Allowed, is_whole, require
from seq2seq.data.batching import (
    Layout,
    TokenBatchSampler,
    TranslationDataset,
    collate_function,
)
from seq2seq.data.prepare import PreparedData


class TranslationDataModule(pl.LightningDataModule):
    """Token-budget batches from the output of ``seq2seq-prepare``.

    The training order depends on the seed and the epoch: the Trainer must rebuild the
    training loader each epoch (``reload_dataloaders_every_n_epochs=1``, as the trainer configs
    set). A run resumed mid-epoch skips the batches of that epoch it has already trained on,
    so it sees the same data in the same order as an uninterrupted run. Under DDP each rank
    reads its own disjoint share of the batches (set ``use_distributed_sampler=False``).
    ``layout`` says what a batch holds of the pairs (``seq2seq.data.batching.LAYOUTS``).
    """

    def __init__(
        self,
        prepared_dir: Path | str,
        *,
        max_tokens: int,
        max_positions: int,
        seed: int,
        eval_max_tokens: int | None = None,
        num_workers: int = 0,
        valid_max_sentences: int | None = None,
        layout: Layout = "pairs",
    ) -> None:
        super().__init__()
        self.layout = layout
        self.prepared_dir = Path(prepared_dir)
        self.max_tokens = max_tokens
        self.eval_max_tokens = eval_max_tokens or max_tokens
        self.max_positions = max_positions
        self.seed = seed
        self.num_workers = num_workers
        self.valid_max_sentences = valid_max_sentences
        self.data: PreparedData | None = None

    def setup(self, stage: str | None = None) -> None:
        """Open the prepared data and check, before any batch, that each split's batches can
        hold its longest example."""
        if self.data is None:
            self.data = PreparedData(self.prepared_dir)
            for split in self.data.split_names:
                _check_budget(self._budget(split), self._dataset(split).lengths(), split=split)

    @property
    def test_split_names(self) -> list[str]:
        self.setup()
        return self.data.test_split_names

    def _dataset(self, split: str) -> TranslationDataset:
        """A split's examples (of the dev set, the first ``valid_max_sentences``)."""
        return TranslationDataset(
            self.data.split(split),
            max_positions=self.max_positions,
            limit=self.valid_max_sentences if split == "valid" else None,
            layout=self.layout,
        )

    def _budget(self, split: str) -> int:
        """Tokens per batch of ``split``, padding included."""
        return self.max_tokens if split == "train" else self.eval_max_tokens

    def _loader(self, split: str) -> DataLoader:
        self.setup()
        dataset, train, trainer = self._dataset(split), split == "train", self.trainer
        sampler = TokenBatchSampler(
            dataset.lengths(),
            max_tokens=self._budget(split),
            shuffle=train,
            seed=self.seed,
            epoch=trainer.current_epoch if trainer is not None else 0,
            rank=trainer.global_rank if trainer is not None else 0,
            world_size=trainer.world_size if trainer is not None else 1,
            skip=self._batches_done_this_epoch() if train else 0,
        )
        # A generator of its own: creating an iterator draws a seed from it, and drawing from the
        # global one would shift the dropout masks of a resumed run against an uninterrupted one.
        return DataLoader(
            dataset,
            batch_sampler=sampler,
            collate_fn=collate_function(self.layout),
            num_workers=self.num_workers,
            generator=torch.Generator().manual_seed(self.seed),
        )

    def _batches_done_this_epoch(self) -> int:
        """On a resume mid-epoch, the batches of this epoch that the checkpoint has seen."""
        loop = self.trainer.fit_loop.epoch_loop if self.trainer is not None else None
        if loop is None or not loop.restarting:
            return 0
        return loop.batch_progress.current.processed

    def train_dataloader(self) -> DataLoader:
        return self._loader("train")

    def val_dataloader(self) -> DataLoader:
        return self._loader("valid")

    def test_dataloader(self) -> list[DataLoader]:
        return [self._loader(name) for name in self.test_split_names]


def _check_budget(budget: int, lengths: np.ndarray, *, split: str) -> None:
    """A batch of ``budget`` tokens must hold the split's longest example alone.

    Raises:
        ConfigError: naming data.batching.max_tokens (train) or eval_max_tokens.
    """
    longest, train = int(lengths.max(initial=0)), split == "train"
    setting = f"data.batching.{'max_tokens' if train else 'eval_max_tokens'}"
    hint = ", or lower data.filters.max_tokens" if train else ""
    why = f"at least {longest}, the tokens of the longest {split} example{hint}"
    require(setting, budget, Allowed(why, lambda value: is_whole(value) and value >= longest))
