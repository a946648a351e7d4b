"""seq2seq-average CKPT... -o OUT: average checkpoints into a model directory."""

from __future__ import annotations

import argparse
from pathlib import Path

from seq2seq.cli.common import user_errors
from seq2seq.modeldir.format import DATA, save_model_dir
from seq2seq.training.average import average_checkpoints
from seq2seq.training.callbacks import spec_from_checkpoint


def build_parser() -> argparse.ArgumentParser:
    """seq2seq-average's arguments, unparsed (docs/cli.md is rendered from them)."""
    parser = argparse.ArgumentParser(prog="seq2seq-average", description=__doc__.split(": ")[1])
    parser.add_argument(
        "checkpoints", nargs="+", type=Path, help="e.g. runs/x/checkpoints/step-*.ckpt"
    )
    parser.add_argument("-o", "--output", type=Path, required=True, help="model directory to write")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    with user_errors():
        model, spec_state, data = average_checkpoints(args.checkpoints)
        spec, _ = spec_from_checkpoint(spec_state)
        metadata = {"averaged_checkpoints": [str(p) for p in args.checkpoints]}
        if data is not None:  # with data.prepared: seq2seq-shortlist's default input
            metadata[DATA] = data
        save_model_dir(args.output, model, spec, metadata)
    print(f"averaged {len(args.checkpoints)} checkpoints -> {args.output}")
