"""What every entry point shares: user errors as one line, data preparation from a config."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from seq2seq.data.corpus import DataConfig
from seq2seq.data.demo import write_demo_corpus
from seq2seq.data.errors import DataError
from seq2seq.data.prepare import PrepareReport, prepare
from seq2seq.data.tokenizer import TokenizerConfig
from seq2seq.training.errors import NonFiniteLossError

stderr = Console(stderr=True)


def positive(text: str) -> int:
    """argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a DataError (or a training stopped for good reason) into one line on stderr and
    exit status 1, without a traceback."""
    try:
        yield
    except (DataError, NonFiniteLossError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)


@contextmanager
def unix_exits(out: TextIO) -> Iterator[None]:
    """End as Unix tools do: quietly when the reader closed the pipe (``| head``); with status
    130 on Ctrl-C, after flushing ``out`` (whole lines only are ever written to it)."""
    try:
        yield
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except KeyboardInterrupt:
        out.flush()
        print("interrupted", file=sys.stderr)
        sys.exit(130)


def prepare_from_config(cfg: DictConfig) -> PrepareReport:
    """Run (or find cached) data preparation for a composed train/prepare config."""
    section = OmegaConf.to_container(cfg.data, resolve=True)
    data = DataConfig.from_config(section)
    if "generate" in section and not data.root.exists():
        write_demo_corpus(data.root, **section["generate"])
    tokenizer = TokenizerConfig(**OmegaConf.to_container(cfg.tokenizer, resolve=True))
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(bar_width=None),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
        disable=not stderr.is_terminal,
    ) as progress:
        tasks: dict[str, int] = {}

        def advance(stage: str, done: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=None)
            progress.advance(tasks[stage], done)

        return prepare(
            data,
            tokenizer,
            output_root=Path(cfg.paths.prepared_dir),
            seed=cfg.seed,
            progress=advance,
        )
