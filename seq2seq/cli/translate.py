"""seq2seq-translate -m MODEL_DIR: translate stdin (or -i FILE) line by line to stdout (or -o)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from rich.progress import MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from seq2seq.cli.common import (
    add_decoding_arguments,
    check_decoding_arguments,
    positive,
    require_model_dir,
    stderr,
    unix_exits,
    user_errors,
)
from seq2seq.data.readers import chunked, decode_lines, read_lines
from seq2seq.inference.translator import Candidate, Sampling, Translator


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="seq2seq-translate", description=__doc__.split(": ")[1])
    parser.add_argument("-m", "--model", type=Path, required=True, help="model directory")
    parser.add_argument("-i", "--input", type=Path, help="input file (default: stdin)")
    parser.add_argument("-o", "--output", type=Path, help="output file (default: stdout)")
    parser.add_argument("--beam", type=positive, default=5, help="beam size; 1 = greedy")
    parser.add_argument(
        "--nbest", type=positive, default=1, help="candidates per line, tab-separated with scores"
    )
    parser.add_argument("--alpha", type=float, default=1.0, help="length-penalty exponent")
    parser.add_argument("--max-batch-tokens", type=positive, default=4096)
    add_decoding_arguments(parser)
    parser.add_argument(
        "--sample", action="store_true", help="draw translations instead of searching"
    )
    parser.add_argument(
        "--top-k", type=int, default=0, help="with --sample: only the k likeliest tokens"
    )
    parser.add_argument("--top-p", type=float, default=1.0, help="with --sample: nucleus mass")
    parser.add_argument("--temperature", type=float, default=1.0, help="with --sample")
    parser.add_argument("--seed", type=int, default=0, help="with --sample: same seed, same output")
    parser.add_argument(
        "--errors", choices=("strict", "replace"), default="strict",
        help="invalid UTF-8 or control characters in the input: stop with an error naming the "
        "line (strict), or replace them and go on (replace)",
    )  # fmt: skip
    parser.add_argument(
        "--attention-out", type=Path, metavar="DIR",
        help="also write each line's cross-attention as DIR/<line number>.png",
    )  # fmt: skip
    parser.add_argument(
        "--chunk-lines",
        type=positive,
        default=256,
        help="lines translated before output is written",
    )
    args = parser.parse_args(argv)
    if args.nbest > args.beam:
        parser.error(f"--nbest ({args.nbest}) cannot exceed --beam ({args.beam})")
    if args.temperature <= 0 or not 0 < args.top_p <= 1 or args.top_k < 0:
        parser.error("need --temperature > 0, 0 < --top-p <= 1 and --top-k >= 0")
    if args.sample and args.nbest > 1:
        parser.error("--sample draws one translation per line; drop --nbest")
    check_decoding_arguments(parser, args)
    if args.input and args.output and args.output.exists() and args.output.samefile(args.input):
        parser.error(f"-o {args.output} is the input file: opening it would erase it unread")
    require_model_dir(parser, args.model)
    return args


# Whatever the model emits (byte-fallback pieces can decode to anything), one input line gives
# one output line: characters that break a line, or a tab-separated n-best row, become spaces.
ONE_LINE = str.maketrans(dict.fromkeys("\t\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029", " "))


def format_line(candidates: list[Candidate], nbest: int) -> str:
    if nbest == 1:
        return candidates[0].text.translate(ONE_LINE)
    return "\t".join(f"{c.text.translate(ONE_LINE)}\t{c.score:.4f}" for c in candidates)


def translate_stream(translator: Translator, lines: Iterator[str], out: TextIO, args) -> None:
    warned = False
    sampling = (
        Sampling(args.temperature, args.top_k, args.top_p, args.seed) if args.sample else None
    )

    def warn_truncated(_index: int) -> None:
        nonlocal warned
        if not warned:
            limit = translator.max_source_tokens
            print(f"warning: lines longer than {limit} tokens are truncated", file=sys.stderr)
            warned = True

    with Progress(
        TextColumn("translating"), MofNCompleteColumn(), TimeElapsedColumn(),
        console=stderr, transient=True, disable=not stderr.is_terminal,
    ) as progress:  # fmt: skip
        task = progress.add_task("lines", total=None)
        for count in _translate_chunks(translator, lines, out, args, warn_truncated, sampling):
            progress.advance(task, count)


def _translate_chunks(translator, lines, out, args, warn_truncated, sampling) -> Iterator[int]:
    """Translate and write ``args.chunk_lines`` lines at a time; yield how many each time."""
    done = 0
    for chunk in chunked(lines, args.chunk_lines):
        results = translator.translate_nbest(
            chunk, beam_size=args.beam, nbest=args.nbest, alpha=args.alpha,
            max_batch_tokens=args.max_batch_tokens, on_truncate=warn_truncated, sampling=sampling,
        )  # fmt: skip
        out.write("".join(format_line(c, args.nbest) + "\n" for c in results))
        out.flush()
        if args.attention_out:
            write_attention(translator, chunk, results, args.attention_out, first_line=done + 1)
        done += len(chunk)
        yield len(chunk)


def write_attention(translator: Translator, sources: list[str], results: list[list[Candidate]],
                    folder: Path, *, first_line: int) -> None:  # fmt: skip
    """One PNG per non-empty line: the cross-attention of its (best) translation."""
    # Imported here: matplotlib costs start-up time that plain translation does not need.
    from seq2seq.analysis.attention import sentence_attention
    from seq2seq.analysis.plot import cross_attention_figure, save_png

    for number, (source, candidates) in enumerate(zip(sources, results, strict=True), first_line):
        if source.strip():
            attention = sentence_attention(translator.loaded, source, candidates[0].text)
            save_png(cross_attention_figure(attention), folder / f"{number:06d}.png")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with user_errors():
        translator = Translator.load(args.model, precision=args.precision, device=args.device)
        lines = (
            read_lines(args.input, errors=args.errors)
            if args.input
            else decode_lines(sys.stdin.buffer, "<stdin>", errors=args.errors)
        )
        out = args.output.open("w", encoding="utf-8") if args.output else sys.stdout
        try:
            with unix_exits(out):
                translate_stream(translator, lines, out, args)
        finally:
            if args.output:
                out.close()
