"""seq2seq-score -m LM_DIR: each line's log-probability under a language model, and the
perplexity of the whole input.

Reads stdin (or -i FILE); writes, per input line, its natural-log probability and its
number of tokens (eos included), tab-separated, to stdout (or -o FILE), and the perplexity,
exp(-sum of log-probabilities / sum of tokens), to stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seq2seq.cli.common import (
    add_device_argument,
    positive,
    refuse_output_onto_input,
    require_model_dir,
    unix_exits,
    user_errors,
)
from seq2seq.common.errors import DataError
from seq2seq.data.readers import chunked, decode_lines, read_lines
from seq2seq.inference.language_model import LanguageModel, LineScore, LineTooLong, perplexity

CHUNK_LINES = 1000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="seq2seq-score", description=__doc__.split(": ", 1)[1].split("\n")[0]
    )
    parser.add_argument("-m", "--model", type=Path, required=True, help="language model directory")
    parser.add_argument("-i", "--input", type=Path, help="input file (default: stdin)")
    parser.add_argument("-o", "--output", type=Path, help="output file (default: stdout)")
    parser.add_argument("--max-batch-tokens", type=positive, default=8192)
    add_device_argument(parser)
    args = parser.parse_args(argv)
    refuse_output_onto_input(parser, args)
    require_model_dir(parser, args.model)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with user_errors():
        model = LanguageModel.load(args.model, device=args.device)
        name = args.input or "<stdin>"
        lines = read_lines(args.input) if args.input else decode_lines(sys.stdin.buffer, name)
        out = args.output.open("w", encoding="utf-8") if args.output else sys.stdout
        scores: list[LineScore] = []
        try:
            with unix_exits(out):
                for chunk in chunked(lines, CHUNK_LINES):
                    try:
                        scored = model.score(chunk, max_batch_tokens=args.max_batch_tokens)
                    except LineTooLong as error:
                        raise DataError(
                            name, str(error), line=len(scores) + error.index + 1
                        ) from None
                    out.write("".join(f"{s.log_prob:.4f}\t{s.tokens}\n" for s in scored))
                    scores += scored
        finally:
            if args.output:
                out.close()
        tokens = sum(s.tokens for s in scores)
        print(f"perplexity: {perplexity(scores):.2f} ({len(scores)} lines, {tokens} tokens)",
              file=sys.stderr)  # fmt: skip
