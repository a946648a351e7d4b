"""seq2seq-train experiment=NAME: prepare the data if needed, train, export, test."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig
from rich.console import Console

from seq2seq.cli.common import prepare_from_config, user_errors
from seq2seq.data.prepare import PreparedData
from seq2seq.training.run import train


@hydra.main(version_base="1.3", config_path="pkg://seq2seq.conf", config_name="train")
def main(cfg: DictConfig) -> None:
    with user_errors():
        report = prepare_from_config(cfg)
        metrics = train(cfg, PreparedData(report.output_dir))
    console = Console()
    for name in sorted(metrics):
        if name.startswith(("test/", "val/")):
            console.print(f"{name}: {metrics[name]:.2f}")
    console.print(f"model directory: {cfg.paths.output_dir}/model")
