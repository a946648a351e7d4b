"""seq2seq-train experiment=NAME [init_from=MODEL_DIR|CKPT]: prepare the data if needed,
train, export, test."""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig
from rich.console import Console

from seq2seq.cli.common import progress_bars, user_errors
from seq2seq.data.prepare import PreparedData
from seq2seq.training.init import inherit_architecture, load_initial_model
from seq2seq.training.preparation import data_config_from, prepare_from_config
from seq2seq.training.run import train
from seq2seq.training.settings import check_settings


@hydra.main(version_base="1.3", config_path="pkg://seq2seq.conf", config_name="train")
def main(cfg: DictConfig) -> None:
    with user_errors():
        check_settings(cfg)
        initial = None
        if cfg.get("init_from"):
            initial = load_initial_model(
                Path(cfg.init_from), data_config_from(cfg), optimizer=cfg.init_optimizer
            )
        inherit_architecture(cfg.model, initial)
        tokenizers = None
        if initial is not None:
            tokenizers = initial.spec.training_tokenizer_files()
        with progress_bars() as progress:
            report = prepare_from_config(cfg, given_tokenizers=tokenizers, progress=progress)
        metrics = train(cfg, PreparedData(report.output_dir), initial=initial)
    console = Console()
    for name in sorted(metrics):
        if name.startswith(("test/", "val/")):
            console.print(f"{name}: {metrics[name]:.2f}")
    console.print(f"model directory: {cfg.paths.output_dir}/model")
