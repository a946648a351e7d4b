"""seq2seq-score -m MODEL_DIR: how probable a model finds given text: each line under a
language model (-i), or each given translation under a translation model (--src, --tgt).

A language model: reads stdin (or -i FILE) and writes, per line, its natural-log probability
and its number of tokens (eos included). A translation model (forced decoding): reads the
sources of --src and their translations in --tgt, line by line, and writes per pair the
log-probability of the translation and the length-normalized score that beam search ranks
by (--alpha). Tab-separated, one line per input line, to stdout (or -o FILE); --per-token
adds a column with each token's probability, eos last. The perplexity of all the text
scored goes to stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO, TypeVar

from seq2seq.cli.common import (
    add_device_argument,
    add_language_arguments,
    add_model_arguments,
    add_shortlist_arguments,
    check_models,
    positive,
    refuse_output_onto_input,
    require_both_sides,
    unix_exits,
    user_errors,
)
from seq2seq.common.errors import DataError
from seq2seq.data.readers import chunked, decode_lines, paired_lines, read_lines
from seq2seq.inference.language_model import LanguageModel, LineScore, LineTooLong, perplexity
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.translator import Translator

CHUNK_LINES = 1000
T = TypeVar("T")
Scored = TypeVar("Scored", bound=LineScore)
DEFAULT = DecodingOptions()


def build_parser() -> argparse.ArgumentParser:
    """seq2seq-score's arguments, unparsed (docs/cli.md is rendered from them)."""
    parser = argparse.ArgumentParser(
        prog="seq2seq-score", description=__doc__.split(": ", 1)[1].split("\n\n")[0]
    )
    add_model_arguments(parser, what="language model or translation model directory")
    parser.add_argument("-i", "--input", type=Path,
                        help="language model: the text (default: stdin)")  # fmt: skip
    parser.add_argument("--src", type=Path, help="translation model: the sources")
    parser.add_argument("--tgt", type=Path, help="translation model: their translations")
    add_language_arguments(parser)
    parser.add_argument("-o", "--output", type=Path, help="output file (default: stdout)")
    parser.add_argument("--per-token", action="store_true",
                        help="also each token's probability, space-separated")  # fmt: skip
    parser.add_argument("--alpha", type=float, default=DEFAULT.alpha,
                        help="translation model: the score's length-penalty exponent")  # fmt: skip
    parser.add_argument("--max-batch-tokens", type=positive, default=8192,
                        help="tokens per forward pass, padding included")  # fmt: skip
    add_device_argument(parser)
    add_shortlist_arguments(parser)
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    require_both_sides(parser, args)
    if args.src is not None and args.input is not None:
        parser.error("-i is a language model's text; --src and --tgt a translation model's")
    refuse_output_onto_input(parser, args.output, args.input, args.src, args.tgt)
    check_models(parser, args.model, args.weights)
    if args.src is None and len(args.model) > 1:
        parser.error("an ensemble scores translations (--src, --tgt): give one language model")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with user_errors():
        out = args.output.open("w", encoding="utf-8") if args.output else sys.stdout
        try:
            with unix_exits(out):
                if args.src is None:
                    summary = score_text(args, out)
                else:
                    summary = score_translations(args, out)
        finally:
            if args.output:
                out.close()
        print(summary, file=sys.stderr)


def score_text(args: argparse.Namespace, out: TextIO) -> str:
    """Score each line of -i (or stdin) under the language model; the summary line."""
    model = LanguageModel.load(args.model[0], device=args.device)
    name = args.input or "<stdin>"
    lines = read_lines(args.input) if args.input else decode_lines(sys.stdin.buffer, name)
    scores = write_scores(
        chunked(lines, CHUNK_LINES),
        lambda chunk: model.score(chunk, max_batch_tokens=args.max_batch_tokens),
        columns=lambda s: f"{s.log_prob:.4f}\t{s.tokens}",
        name=name, args=args, out=out,
    )  # fmt: skip
    tokens = sum(s.tokens for s in scores)
    return f"perplexity: {perplexity(scores):.2f} ({len(scores)} lines, {tokens} tokens)"


def score_translations(args: argparse.Namespace, out: TextIO) -> str:
    """Score each translation of --tgt given its source in --src; the summary line."""
    translator = Translator.load(
        *args.model, weights=args.weights, device=args.device, shortlist=args.shortlist
    ).directed(args.source_lang, args.target_lang)
    scores = write_scores(
        chunked(
            paired_lines(read_lines(args.src), args.src, read_lines(args.tgt), args.tgt,
                         pairing="one translation per source"),
            CHUNK_LINES,
        ),
        lambda pairs: translator.score(
            [source for source, _ in pairs], [target for _, target in pairs],
            alpha=args.alpha, max_batch_tokens=args.max_batch_tokens,
        ),
        columns=lambda s: f"{s.log_prob:.4f}\t{s.score:.4f}",
        name=args.tgt, args=args, out=out,
    )  # fmt: skip
    tokens = sum(s.tokens for s in scores)
    return f"perplexity: {perplexity(scores):.2f} ({len(scores)} pairs, {tokens} target tokens)"


def write_scores(
    chunks: Iterable[list[T]],
    score: Callable[[list[T]], list[Scored]],
    *,
    columns: Callable[[Scored], str],
    name: Path | str,
    args: argparse.Namespace,
    out: TextIO,
) -> list[Scored]:
    """Score chunk after chunk, writing a line per item as each chunk is done: ``columns``
    and, with --per-token, each token's probability. A line too long for the model is a
    DataError naming ``name`` and its line."""
    scores: list[Scored] = []
    for chunk in chunks:
        try:
            scored = score(chunk)
        except LineTooLong as error:
            raise DataError(name, str(error), line=len(scores) + error.index + 1) from None
        out.write("".join(f"{columns(s)}{per_token(s.token_probs, args)}\n" for s in scored))
        scores += scored
    return scores


def per_token(probabilities: list[float], args: argparse.Namespace) -> str:
    """The --per-token column (with its tab), or nothing."""
    return "\t" + " ".join(f"{p:.4g}" for p in probabilities) if args.per_token else ""
