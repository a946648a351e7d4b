"""seq2seq-export -m MODEL_DIR --to {huggingface,ctranslate2} -o OUT_DIR: for other runtimes."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from seq2seq.cli.common import user_errors
from seq2seq.inference.export import export_ctranslate2, export_huggingface
from seq2seq.inference.model_dir import load_model_dir

PACKAGES = {"huggingface": "transformers", "ctranslate2": "ctranslate2"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="seq2seq-export", description=__doc__.split(": ")[1])
    parser.add_argument("-m", "--model", type=Path, required=True, help="model directory")
    parser.add_argument("--to", choices=sorted(PACKAGES), required=True)
    parser.add_argument("-o", "--output", type=Path, required=True, help="directory to write")
    parser.add_argument(
        "--quantization", help="ctranslate2 only: int8, int8_float32, int16 (default: float32)"
    )
    args = parser.parse_args(argv)
    if not (args.model / "config.yaml").is_file():
        parser.error(f"{args.model} is not a model directory (no config.yaml)")
    package = PACKAGES[args.to]
    if importlib.util.find_spec(package) is None:
        print(f"error: the export needs {package}: pip install -e '.[peers]'", file=sys.stderr)
        sys.exit(1)
    with user_errors():
        loaded = load_model_dir(args.model)
        if args.to == "huggingface":
            export_huggingface(loaded, args.output)
        else:
            export_ctranslate2(loaded, args.output, quantization=args.quantization)
    print(f"{args.model} -> {args.output} ({args.to})")
