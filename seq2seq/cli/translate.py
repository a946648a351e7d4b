"""seq2seq-translate -m MODEL_DIR: translate stdin (or -i FILE) line by line to stdout (or -o)."""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from seq2seq.cli.common import (
    add_decoding_arguments,
    add_language_arguments,
    add_model_arguments,
    check_models,
    decoding_options,
    load_translator,
    positive,
    refuse_output_onto_input,
    stderr,
    unix_exits,
    user_errors,
)
from seq2seq.cli.engine import add_engine_argument, start_engine
from seq2seq.common.errors import ConfigError
from seq2seq.common.resume import after_done, keep_complete_lines
from seq2seq.data.glossary import Glossary
from seq2seq.data.readers import count_lines, decode_lines, paired_lines, read_lines
from seq2seq.inference.streaming import format_line, translate_chunks
from seq2seq.inference.translator import Candidate, Engine, Translator


def build_parser() -> argparse.ArgumentParser:
    """seq2seq-translate's arguments, unparsed (docs/cli.md is rendered from them)."""
    parser = argparse.ArgumentParser(prog="seq2seq-translate", description=__doc__.split(": ")[1])
    add_model_arguments(parser)
    add_language_arguments(parser)
    parser.add_argument("-i", "--input", type=Path, help="input file (default: stdin)")
    parser.add_argument("-o", "--output", type=Path, help="output file (default: stdout)")
    add_decoding_arguments(parser, candidates=True, fusion=True)
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
        "--split-sentences", action="store_true",
        help="translate each sentence of a line apart (English and Persian rules) and join them",
    )  # fmt: skip
    parser.add_argument(
        "--prefix", type=Path, metavar="FILE",
        help="a line per input line: target text that its translation begins with (empty: none)",
    )  # fmt: skip
    parser.add_argument(
        "--constraints", type=Path, metavar="FILE",
        help="a line per input line: tab-separated target phrases its translation must "
        "contain (empty: none); beam search",
    )  # fmt: skip
    parser.add_argument(
        "--glossary", type=Path, metavar="TSV",
        help="'source term<TAB>target term' lines: where a line has the source term (whole "
        "words, any case), its translation must contain the target term; beam search",
    )  # fmt: skip
    add_engine_argument(
        parser, plain="translation without --prefix, --constraints, --glossary, --sample, "
        "--lm and --nbest (which carries scores)",
    )  # fmt: skip
    parser.add_argument(
        "--chunk-lines",
        type=positive,
        default=256,
        help="lines translated before output is written",
    )
    parser.add_argument(
        "--resume", action="store_true",
        help="continue -o FILE where an interrupted run of the same command left it: its "
        "complete lines are kept and the input lines they answer skipped",
    )  # fmt: skip
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.decoding = decoding_options(parser, args)
    for option in ("prefix", "constraints", "glossary"):
        if getattr(args, option) is not None and args.split_sentences:
            parser.error(f"--{option} is for whole lines: not with --split-sentences")
    if (args.constraints or args.glossary) and args.decoding.sampling is not None:
        parser.error("--constraints and --glossary are for beam search, not with --sample")
    refuse_output_onto_input(
        parser, args.output, args.input, args.prefix, args.constraints, args.glossary
    )
    check_models(parser, args.model, args.weights)
    if args.resume and args.output is None:
        parser.error("--resume continues an output file: it needs -o FILE")
    return args


def translate_stream(
    translator: Translator,
    lines: Iterator[str],
    out: TextIO,
    args,
    *,
    prefixes: Iterator[str] | None = None,
    constraints: Iterator[list[str]] | None = None,
    engine: Engine | None = None,
    start: int = 0,
    total: int | None = None,
) -> None:
    """Translate ``lines`` to ``out`` as ``args`` say (with ``engine`` decoding for
    ``translator`` when given), with a progress bar on a terminal, one warning for lines cut
    to the model's maximum and one for each line whose constraints cannot fit. ``lines``
    begin after the input's first ``start`` (already translated), of ``total`` when known."""
    warned = False

    def warn_truncated(_index: int) -> None:
        nonlocal warned
        if not warned:
            limit = translator.max_source_tokens
            print(f"warning: lines longer than {limit} tokens are truncated", file=sys.stderr)
            warned = True

    def warn_impossible(index: int) -> None:
        print(
            f"warning: {args.input or '<stdin>'}:{start + index + 1}: the constraints are longer "
            "than its translation may be: translated without them",
            file=sys.stderr,
        )

    chunks = translate_chunks(
        engine or translator, lines, options=args.decoding, chunk_lines=args.chunk_lines,
        split=args.split_sentences, on_truncate=warn_truncated, prefixes=prefixes,
        constraints=constraints, on_impossible=warn_impossible,
    )  # fmt: skip
    with Progress(
        TextColumn("translating"), BarColumn(), MofNCompleteColumn(), SentencesPerSecond(),
        TimeElapsedColumn(), TimeRemainingColumn(),
        console=stderr, transient=True, disable=not stderr.is_terminal,
    ) as progress:  # fmt: skip
        task = progress.add_task("lines", total=total, completed=start)
        done = start
        for sources, results in chunks:
            out.write("".join(format_line(c, args.decoding.nbest) + "\n" for c in results))
            out.flush()
            if args.attention_out:
                write_attention(translator, sources, results, args.attention_out, first=done + 1)
            done += len(sources)
            progress.advance(task, len(sources))


class SentencesPerSecond(ProgressColumn):
    """The progress bar's rate: input lines translated per second, lately."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:.1f} sentences/s")


def write_attention(translator: Translator, sources: list[str], results: list[list[Candidate]],
                    folder: Path, *, first: int) -> None:  # fmt: skip
    # Imported here: matplotlib costs start-up time that plain translation does not need.
    from seq2seq.analysis.plot import save_attention_pngs

    best = [candidates[0].text for candidates in results]
    save_attention_pngs(translator.loaded, sources, best, folder, first=first)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with user_errors():
        translator = load_translator(args.model, args)
        engine = None if needs_our_decoder(args) else start_engine(translator, args.model, args)
        lines = (
            read_lines(args.input, errors=args.errors)
            if args.input
            else decode_lines(sys.stdin.buffer, "<stdin>", errors=args.errors)
        )
        prefixes = constraints = None
        if args.prefix is not None:
            lines, prefixes = in_step(lines, args, args.prefix, "one prefix per input line")
        if args.constraints is not None or args.glossary is not None:
            lines, constraints = with_constraints(lines, args)
        start = resume_point(args)
        if start:
            lines = after_done(lines, start, output=args.output, source=args.input or "<stdin>")
            prefixes, constraints = (
                None if given is None else itertools.islice(given, start, None)
                for given in (prefixes, constraints)
            )
        mode = "a" if args.resume else "w"
        out = args.output.open(mode, encoding="utf-8") if args.output else sys.stdout
        try:
            with unix_exits(out):
                translate_stream(
                    translator, lines, out, args, prefixes=prefixes, constraints=constraints,
                    engine=engine, start=start,
                    total=count_lines(args.input) if args.input and stderr.is_terminal else None,
                )  # fmt: skip
        finally:
            if args.output:
                out.close()


def resume_point(args) -> int:
    """How many input lines the output already answers: with --resume, the complete lines of
    -o FILE (a torn last line is cut off), else 0."""
    if not args.resume:
        return 0
    done = keep_complete_lines(args.output)
    if done:
        print(f"resuming after line {done} of {args.input or '<stdin>'}", file=sys.stderr)
    return done


def needs_our_decoder(args) -> str | None:
    """What the command asks that only our decoder does, or None for plain translation."""
    asked = [f"--{name}" for name in ("prefix", "constraints", "glossary")
             if getattr(args, name) is not None]  # fmt: skip
    if args.decoding.sampling is not None:
        asked.append("--sample")
    if args.decoding.nbest > 1:
        asked.append("--nbest")
    if asked and args.engine == "ctranslate2":
        raise ConfigError(f"--engine ctranslate2: {', '.join(asked)} need our decoder")
    return ", ".join(asked) or None


def in_step(
    lines: Iterator[str], args, path: Path, pairing: str
) -> tuple[Iterator[str], Iterator[str]]:
    """The input lines and the lines of ``path``, read in step (one that ends first is an
    error naming its line; ``pairing`` says what each line holds)."""
    pairs = paired_lines(
        lines, args.input or "<stdin>",
        read_lines(path, allow_tab=True, errors=args.errors), path, pairing=pairing,
    )  # fmt: skip
    sources, others = itertools.tee(pairs)
    return (source for source, _ in sources), (other for _, other in others)


def with_constraints(lines: Iterator[str], args) -> tuple[Iterator[str], Iterator[list[str]]]:
    """The input lines and each one's phrases: the tab-separated ones of its --constraints
    line, then the target terms of the --glossary's source terms that it contains."""
    phrase_lines: Iterator[str] = itertools.repeat("")
    if args.constraints is not None:
        lines, phrase_lines = in_step(
            lines, args, args.constraints, "one line of constraints per input line"
        )
    glossary = Glossary.read(args.glossary) if args.glossary is not None else Glossary([])
    sources, copies = itertools.tee(lines)

    def phrases(source: str, given: str) -> list[str]:
        listed = [phrase for phrase in given.split("\t") if phrase.strip()]
        return listed + [term for term in glossary.targets(source) if term not in listed]

    return sources, itertools.starmap(phrases, zip(copies, phrase_lines, strict=False))
