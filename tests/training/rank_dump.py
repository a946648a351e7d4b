"""A callback for the DDP test: every rank writes its parameters when fit ends."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
from safetensors.torch import save_file


class SaveParametersPerRank(pl.Callback):
    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tensors = {name: p.detach().clone() for name, p in pl_module.net.named_parameters()}
        save_file(tensors, str(self.directory / f"rank{trainer.global_rank}.safetensors"))


class RecordCheckpointWrites(pl.Callback):
    """Every rank lists, in ``writes-rank<N>.txt``, the checkpoint files it wrote itself."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        record = self.directory / f"writes-rank{trainer.global_rank}.txt"
        record.touch()
        io = trainer.strategy.checkpoint_io
        save = io.save_checkpoint

        def save_and_record(checkpoint, path, storage_options=None) -> None:
            save(checkpoint, path, storage_options)
            with record.open("a") as stream:
                stream.write(f"{Path(path).name}\n")

        io.save_checkpoint = save_and_record
