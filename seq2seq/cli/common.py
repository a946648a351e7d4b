"""What every entry point shares: user errors as one line, data preparation from a config."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import torch
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from seq2seq.data.corpus import DataConfig
from seq2seq.data.demo import write_demo_corpus
from seq2seq.data.errors import ConfigError, DataError
from seq2seq.data.prepare import PrepareReport, prepare
from seq2seq.data.tokenizer import TokenizerConfig
from seq2seq.inference.model_dir import CONFIG
from seq2seq.inference.precision import PRECISIONS
from seq2seq.training.errors import NonFiniteLossError

stderr = Console(stderr=True)


def positive(text: str) -> int:
    """argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def device(text: str) -> torch.device:
    """argparse type: "cpu", or a CUDA device this machine has ("cuda", "cuda:1")."""
    try:
        chosen = torch.device(text)
    except RuntimeError:
        chosen = None
    if chosen is None or chosen.type not in ("cpu", "cuda"):
        raise argparse.ArgumentTypeError(f"{text!r} is not cpu, cuda or cuda:N")
    if chosen.type == "cuda" and (chosen.index or 0) >= torch.cuda.device_count():
        raise argparse.ArgumentTypeError(f"this machine has no CUDA device {text}")
    return chosen


def add_decoding_arguments(parser: argparse.ArgumentParser) -> None:
    """--precision and --device, for the entry points that decode."""
    parser.add_argument(
        "--precision", choices=PRECISIONS, default="fp32",
        help="bf16: autocast (fast on GPUs and CPUs with AMX); int8: dynamic quantization (CPU)",
    )  # fmt: skip
    parser.add_argument(
        "--device", type=device, default="cpu", help="where to decode: cpu, cuda or cuda:N"
    )


def check_decoding_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """The combinations of --precision and --device that cannot run: a usage error."""
    if args.precision == "int8" and args.device.type != "cpu":
        parser.error("--precision int8 runs on the CPU only: drop --device or pick another")


def require_model_dir(parser: argparse.ArgumentParser, path: Path) -> None:
    """A usage error unless ``path`` holds a model directory's config.yaml."""
    if not (path / CONFIG).is_file():
        parser.error(f"{path} is not a model directory (no {CONFIG})")


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a DataError or ConfigError (or a training stopped for good reason) into one line on
    stderr and exit status 1, without a traceback."""
    try:
        yield
    except (DataError, ConfigError, NonFiniteLossError) as error:
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


def data_config_from(cfg: DictConfig) -> DataConfig:
    """The data section of a composed train/prepare config."""
    return DataConfig.from_config(OmegaConf.to_container(cfg.data, resolve=True))


def prepare_from_config(
    cfg: DictConfig, *, given_tokenizers: tuple[Path, Path] | None = None
) -> PrepareReport:
    """Run (or find cached) data preparation for a composed train/prepare config, encoding
    with ``given_tokenizers`` (source, target) instead of new ones when given."""
    data = data_config_from(cfg)
    if "generate" in cfg.data and not data.root.exists():
        write_demo_corpus(data.root, **OmegaConf.to_container(cfg.data.generate, resolve=True))
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
            given_tokenizers=given_tokenizers,
        )
