"""seq2seq-prepare experiment=NAME: normalize, train SentencePiece, binarize, print a summary."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig
from rich.console import Console
from rich.table import Table

from seq2seq.cli.common import progress_bars, user_errors
from seq2seq.data.prepare import PrepareReport
from seq2seq.training.preparation import prepare_from_config
from seq2seq.training.settings import PREPARATION, check_settings


def summary(report: PrepareReport) -> Table:
    """The end-of-run table: pairs read and dropped per filter, tokens per split, vocabulary."""
    table = Table(title=f"Prepared in {report.seconds:.1f}s: {report.output_dir}")
    for column in ("split", "pairs", "source tokens", "target tokens"):
        table.add_column(column, justify="left" if column == "split" else "right")
    table.add_row("train (read)", f"{report.pairs_read:,}", "", "")
    for reason, count in sorted(report.dropped.items()):
        table.add_row(f"  dropped: {reason}", f"{count:,}", "", "")
    for split, stats in report.splits.items():
        row = (stats.pairs, stats.src_tokens, stats.tgt_tokens)
        label = split
        if split == "train" and report.sampled_copies:
            label = f"train (with {report.sampled_copies} sampled copies)"
        table.add_row(label, *(f"{n:,}" for n in row), end_section=split == "train")
    vocab = ", ".join(f"{name} {size:,}" for name, size in report.vocab_sizes.items())
    table.caption = f"vocabulary: {vocab}"
    return table


@hydra.main(version_base="1.3", config_path="pkg://seq2seq.conf", config_name="prepare")
def main(cfg: DictConfig) -> None:
    with user_errors(), progress_bars() as progress:
        check_settings(cfg, settings=PREPARATION)
        report = prepare_from_config(cfg, progress=progress)
    console = Console()
    if report.cached:
        console.print(f"Prepared data is up to date, nothing to do: {report.output_dir}")
    else:
        console.print(summary(report))
