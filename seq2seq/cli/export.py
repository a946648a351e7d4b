"""seq2seq-export -m MODEL_DIR --to {huggingface,ctranslate2} -o OUT_DIR: for other runtimes."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from seq2seq.cli.common import require_model_dir, user_errors
from seq2seq.inference.export import export_ctranslate2, export_huggingface
from seq2seq.inference.model_dir import CONFIG, load_model_dir

PACKAGES = {"huggingface": "transformers", "ctranslate2": "ctranslate2"}


def check_output(parser: argparse.ArgumentParser, output: Path, *, force: bool) -> None:
    """Usage errors for an output that exporting would damage: one of our model directories
    (the Hugging Face export writes its own model.safetensors), or, unless ``force``, any
    folder that already holds files (as CTranslate2's converters refuse without --force)."""
    if not output.exists():
        return
    if not output.is_dir():
        parser.error(f"-o {output} exists and is not a folder")
    if (output / CONFIG).is_file():
        parser.error(f"-o {output} is a seq2seq model directory: the export would overwrite it")
    if not force and any(output.iterdir()):
        parser.error(f"-o {output} is not empty: pass --force to write into it")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="seq2seq-export", description=__doc__.split(": ")[1])
    parser.add_argument("-m", "--model", type=Path, required=True, help="model directory")
    parser.add_argument("--to", choices=sorted(PACKAGES), required=True)
    parser.add_argument("-o", "--output", type=Path, required=True, help="directory to write")
    parser.add_argument(
        "--quantization", help="ctranslate2 only: int8, int8_float32, int16 (default: float32)"
    )
    parser.add_argument(
        "--force", action="store_true",
        help="write into a folder that already holds files (those of the same name are replaced)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    require_model_dir(parser, args.model)
    check_output(parser, args.output, force=args.force)
    package = PACKAGES[args.to]
    if importlib.util.find_spec(package) is None:
        print(f"error: the export needs {package}: pip install -e '.[peers]'", file=sys.stderr)
        sys.exit(1)
    with user_errors():
        loaded = load_model_dir(args.model)
        if loaded.model.cfg.decoder_only:
            print(
                f"error: {args.model} is a decoder-only model: the {args.to} export writes "
                "encoder-decoder models only",
                file=sys.stderr,
            )
            sys.exit(1)
        if args.to == "huggingface":
            export_huggingface(loaded, args.output)
        else:
            export_ctranslate2(loaded, args.output, quantization=args.quantization)
    print(f"{args.model} -> {args.output} ({args.to})")
