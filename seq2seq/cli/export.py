"""seq2seq-export -m MODEL_DIR --to huggingface -o OUT_DIR: a MarianMTModel directory."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seq2seq.cli.common import user_errors
from seq2seq.inference.model_dir import load_model_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="seq2seq-export", description=__doc__.split(": ")[1])
    parser.add_argument("-m", "--model", type=Path, required=True, help="model directory")
    parser.add_argument("--to", choices=["huggingface"], required=True)
    parser.add_argument("-o", "--output", type=Path, required=True, help="directory to write")
    args = parser.parse_args(argv)
    if not (args.model / "config.yaml").is_file():
        parser.error(f"{args.model} is not a model directory (no config.yaml)")
    try:
        import transformers  # noqa: F401

        from seq2seq.inference.export import export_huggingface
    except ImportError:
        print("error: the export needs transformers: pip install -e '.[peers]'", file=sys.stderr)
        sys.exit(1)
    with user_errors():
        export_huggingface(load_model_dir(args.model), args.output)
    print(f"{args.model} -> {args.output} (MarianMTModel, offline-loadable)")
