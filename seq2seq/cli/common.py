"""What the entry points share: argument types, decoding options, user errors as one line, exits as
Unix tools make them, progress bars."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import Field, fields, is_dataclass
from pathlib import Path
from typing import Any, TextIO, TypeVar, get_args, get_type_hints

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

from seq2seq.common.errors import ConfigError, DataError
from seq2seq.data.prepare import Progress
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.runtime.precision import PRECISIONS
from seq2seq.inference.translator import Translator
from seq2seq.modeldir.format import CONFIG
from seq2seq.training.errors import NonFiniteLossError

stderr = Console(stderr=True)
CANDIDATES = ("nbest", "sampling")  # only the entry points that write candidates take these
T = TypeVar("T")


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


def add_decoding_arguments(
    parser: argparse.ArgumentParser, *, candidates: bool, fusion: bool = False
) -> None:
    """The decoding options (``DecodingOptions``' fields), --precision and --device, for the
    entry points that decode; with ``candidates``, also --nbest and the sampling options; with
    ``fusion``, --lm and --lm-weight."""
    add_option_arguments(parser, DecodingOptions, skip=() if candidates else CANDIDATES)
    if fusion:
        parser.add_argument("--lm", type=Path, metavar="LM_DIR",
                            help="a language model of the target vocabulary to fuse into beam "
                            "search (shallow fusion)")  # fmt: skip
        parser.add_argument("--lm-weight", type=float, metavar="W",
                            help="with --lm: beam search scores log p_TM + W log p_LM")  # fmt: skip
    parser.add_argument(
        "--precision", choices=PRECISIONS, default="fp32",
        help="bf16: autocast (fast on GPUs and CPUs with AMX); int8: int8 linear layers (CPU; "
        "native with AVX-512 VNNI, else PyTorch's dynamic quantization)",
    )  # fmt: skip
    add_device_argument(parser)
    parser.add_argument(
        "--no-packing", dest="pack_weights", action="store_false",
        help="fp32 on a CPU: no packed or native copy of the weights (less memory, slower)",
    )  # fmt: skip
    add_shortlist_arguments(parser)


def add_shortlist_arguments(
    parser: argparse.ArgumentParser,
    *,
    use: str = "score only the target tokens that this lexical shortlist (seq2seq-shortlist) "
    "keeps for each batch's sources",
    without: str = "score the whole target vocabulary",
) -> None:
    """--shortlist FILE and --no-shortlist (the model directory's own is used by default):
    ``use`` says what is done with a shortlist, ``without`` what is done instead."""
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument(
        "--shortlist", type=Path, default=True, metavar="FILE",
        help=f"{use} (default: the model directory's own, if any)",
    )  # fmt: skip
    chosen.add_argument(
        "--no-shortlist", dest="shortlist", action="store_false",
        help=f"{without}, even where the model directory has a shortlist",
    )  # fmt: skip


def decoding_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> DecodingOptions:
    """The DecodingOptions the arguments ask for; an impossible combination is a usage error."""
    if args.precision == "int8" and args.device.type != "cpu":
        parser.error("--precision int8 runs on the CPU only: drop --device or pick another")
    sample = getattr(args, "sampling", False)
    lm, lm_weight = getattr(args, "lm", None), getattr(args, "lm_weight", None)
    if (lm is None) != (lm_weight is None):
        parser.error("--lm and --lm-weight go together")
    if lm is not None and sample:
        parser.error("--lm is fused into beam search: drop --sample")
    if lm is not None:
        require_model_dir(parser, lm)
    try:
        return options_from_args(DecodingOptions, args)
    except ConfigError as error:
        parser.error(str(error).removeprefix("decoding: ").removeprefix("sampling: "))


def add_option_arguments(
    parser: argparse.ArgumentParser, options: type, *, skip: Collection[str] = (), within: str = ""
) -> None:
    """An argument per field of the dataclass ``options`` but those in ``skip``, from the field's
    metadata (``seq2seq.inference.options.about``): its flag, help, type and default. A field
    that holds a dataclass of its own (``sampling``) is a switch followed by that dataclass's
    arguments, whose help says ``within`` the switch they count."""
    hints = get_type_hints(options)
    for option in fields(options):
        if option.name in skip:
            continue
        flag, nested = _flag(option), _nested(hints[option.name])
        text = within + option.metadata["help"]
        if nested is None:
            kind = positive if option.metadata["positive"] else hints[option.name]
            parser.add_argument(
                flag, dest=option.name, type=kind, default=option.default, help=text
            )
        else:
            parser.add_argument(flag, dest=option.name, action="store_true", help=text)
            add_option_arguments(parser, nested, within=f"with {flag}: ")


def options_from_args(options: type[T], args: argparse.Namespace) -> T:
    """The dataclass ``options`` as the arguments of ``add_option_arguments`` ask for (a
    skipped field keeps its default; a switch that is off is None)."""
    hints = get_type_hints(options)
    values = {}
    for option in fields(options):
        if not hasattr(args, option.name):
            continue
        value, nested = getattr(args, option.name), _nested(hints[option.name])
        if nested is not None:
            value = options_from_args(nested, args) if value else None
        values[option.name] = value
    return options(**values)


def _flag(option: Field) -> str:
    """A field's command-line flag: its own, or ``--`` and its name with dashes."""
    return option.metadata["flag"] or "--" + option.name.replace("_", "-")


def _nested(hint: Any) -> type | None:
    """The dataclass in a field's type (``Sampling | None``), or None."""
    return next((arg for arg in get_args(hint) if is_dataclass(arg)), None)


def add_model_arguments(parser: argparse.ArgumentParser, *, what: str = "model directory") -> None:
    """-m (repeatable: an ensemble, whose members share their vocabularies) and --weights."""
    parser.add_argument("-m", "--model", type=Path, action="append", required=True,
                        help=f"{what}; several: an ensemble")  # fmt: skip
    add_weights_argument(parser)


def add_language_arguments(parser: argparse.ArgumentParser) -> None:
    """--source-lang and --target-lang: the direction a multilingual model translates."""
    for side, example in (("source", "eng_Latn or en"), ("target", "pes_Arab or fa")):
        parser.add_argument(f"--{side}-lang", metavar="CODE",
                            help=f"a multilingual model's {side} language: a FLORES-200 "
                            f"code or its ISO 639-1 alias ({example}; default: the "
                            "model's)")  # fmt: skip


def add_weights_argument(parser: argparse.ArgumentParser) -> None:
    """--weights: an ensemble's members' weights."""
    parser.add_argument("--weights", type=weights, metavar="W1,W2,...",
                        help="with several -m: their weights in the ensemble, which adds their "
                        "weighted log-probabilities and renormalizes (default: equal)")  # fmt: skip


def weights(text: str) -> list[float]:
    """argparse type: comma-separated positive numbers."""
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"comma-separated positive numbers, got {text!r}")
    return values


def check_models(
    parser: argparse.ArgumentParser, models: list[Path], given: list[float] | None
) -> None:
    """A usage error unless each of ``models`` is a model directory and ``given`` weights, if
    any, are one per model."""
    for path in models:
        require_model_dir(parser, path)
    if given is not None and len(given) != len(models):
        parser.error(f"--weights gives {len(given)} weights for {len(models)} models")


def load_translator(paths: list[Path], args: argparse.Namespace) -> Translator:
    """The model directories ``paths`` (several: an ensemble, with --weights) as the decoding
    arguments say (and --lm, and --source-lang and --target-lang, where given)."""
    translator = Translator.load(
        *paths, weights=getattr(args, "weights", None), precision=args.precision,
        device=args.device, pack_weights=args.pack_weights, lm_dir=getattr(args, "lm", None),
        lm_weight=getattr(args, "lm_weight", None) or 0.0, shortlist=args.shortlist,
    )  # fmt: skip
    return translator.directed(
        getattr(args, "source_lang", None), getattr(args, "target_lang", None)
    )


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """--device: where the model runs."""
    parser.add_argument(
        "--device", type=device, default="cpu", help="where to decode: cpu, cuda or cuda:N"
    )


def require_both_sides(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """A usage error when one of --src and --tgt is given without the other."""
    if (args.src is None) != (args.tgt is None):
        parser.error("--src and --tgt go together: the sources and their translations")


def refuse_output_onto_input(
    parser: argparse.ArgumentParser, output: Path | None, *inputs: Path | None
) -> None:
    """A usage error when -o names an input file (by any path or link): opening it for
    writing would erase the input before it is read."""
    if output is None or not output.exists():
        return
    for path in inputs:
        if path is not None and output.samefile(path):
            parser.error(f"-o {output} is an input file: opening it would erase it unread")


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


@contextmanager
def progress_bars() -> Iterator[Progress]:
    """A progress callback, ``progress(stage, items_done)``, shown as one bar per stage on a
    terminal's stderr and not at all elsewhere."""
    with RichProgress(
        TextColumn("{task.description}"),
        BarColumn(bar_width=None),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
        disable=not stderr.is_terminal,
    ) as bars:
        tasks: dict[str, int] = {}

        def advance(stage: str, done: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=None)
            bars.advance(tasks[stage], done)

        yield advance
