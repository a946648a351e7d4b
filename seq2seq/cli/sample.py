"""seq2seq-sample -m LM_DIR: texts drawn from a language model, one per line, to stdout."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seq2seq.cli.common import (
    add_device_argument,
    add_option_arguments,
    options_from_args,
    positive,
    require_model_dir,
    unix_exits,
    user_errors,
)
from seq2seq.common.errors import ConfigError
from seq2seq.inference.language_model import LanguageModel
from seq2seq.inference.options import Sampling
from seq2seq.inference.streaming import ONE_LINE


def build_parser() -> argparse.ArgumentParser:
    """seq2seq-sample's arguments, unparsed (docs/cli.md is rendered from them)."""
    parser = argparse.ArgumentParser(prog="seq2seq-sample", description=__doc__.split(": ")[1])
    parser.add_argument("-m", "--model", type=Path, required=True, help="language model directory")
    parser.add_argument("--prompt", default="", help="text each sample begins with")
    parser.add_argument("-n", "--samples", type=positive, default=1, help="texts to draw")
    parser.add_argument("--max-tokens", type=positive, default=50,
                        help="new tokens per text at most")  # fmt: skip
    add_option_arguments(parser, Sampling)
    add_device_argument(parser)
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.sampling = options_from_args(Sampling, args)
    except ConfigError as error:
        parser.error(str(error).removeprefix("sampling: "))
    require_model_dir(parser, args.model)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with user_errors(), unix_exits(sys.stdout):
        model = LanguageModel.load(args.model, device=args.device)
        try:
            texts = model.sample(
                args.prompt, count=args.samples, max_tokens=args.max_tokens,
                sampling=args.sampling,
            )  # fmt: skip
        except ValueError as error:  # a prompt too long for the model
            raise ConfigError(f"--prompt: {error}") from None
        sys.stdout.write("".join(text.translate(ONE_LINE) + "\n" for text in texts))
