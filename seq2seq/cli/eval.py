"""seq2seq-eval: BLEU, chrF and TER of models or output files on test sets, with significance."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NoReturn

from rich.console import Console
from rich.table import Table

from seq2seq.cli.common import (
    add_decoding_arguments,
    add_language_arguments,
    add_weights_argument,
    check_models,
    decoding_options,
    load_translator,
    unix_exits,
    user_errors,
)
from seq2seq.common.languages import iso_code
from seq2seq.evaluation.evaluate import (
    System,
    TestData,
    TestSetReport,
    evaluate,
    model_system,
    read_source_and_references,
)
from seq2seq.evaluation.testsets import DEFAULT_ROOT, load_catalog, read_test_set


def build_parser() -> argparse.ArgumentParser:
    """seq2seq-eval's arguments, unparsed (docs/cli.md is rendered from them)."""
    parser = argparse.ArgumentParser(prog="seq2seq-eval", description=__doc__.split(": ")[1])
    parser.add_argument("-m", "--model", type=Path, action="append", default=[],
                        help="model directory (repeat to compare several)")  # fmt: skip
    parser.add_argument("--hyp", type=Path, action="append", default=[],
                        help="a system output file, a line per source line")  # fmt: skip
    parser.add_argument("-t", "--testset", action="append", default=[],
                        help=f"catalog name (repeatable): {', '.join(load_catalog())}")  # fmt: skip
    parser.add_argument("--src", type=Path, help="source file (with --ref, instead of --testset)")
    parser.add_argument("--ref", type=Path, help="reference file")
    parser.add_argument(
        "-l",
        "--langs",
        help="direction SRC-TGT, e.g. en-fa (default: the model's); a multilingual model "
        "translates it (FLORES-200 codes or their ISO 639-1 aliases)",
    )
    add_language_arguments(parser)
    parser.add_argument("--data-root", type=Path, default=DEFAULT_ROOT,
                        help=f"the catalog's files (default: {DEFAULT_ROOT})")  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    parser.add_argument("--ensemble", action="store_true",
                        help="also the ensemble of the -m models, a system named A+B")  # fmt: skip
    add_weights_argument(parser)
    add_decoding_arguments(parser, candidates=False, fusion=True)
    parser.add_argument("--errors", choices=("strict", "replace"), default="strict",
                        help="invalid UTF-8: an error naming the line, or replace it")  # fmt: skip
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.model and not args.hyp:
        parser.error("give at least one system: -m MODEL_DIR or --hyp FILE")
    if bool(args.testset) == bool(args.src or args.ref) or bool(args.src) != bool(args.ref):
        parser.error("give either --testset NAME or both --src FILE and --ref FILE")
    if args.hyp and len(args.testset) > 1:
        parser.error("--hyp files belong to one test set: give a single --testset")
    if (args.source_lang is None) != (args.target_lang is None):
        parser.error("--source-lang and --target-lang go together")
    if args.source_lang is not None:
        given = f"{args.source_lang}-{args.target_lang}"
        if args.langs not in (None, given):
            parser.error(f"--langs {args.langs} contradicts --source-lang and --target-lang")
        args.langs = given
    if args.langs is not None and len(args.langs.split("-")) != 2:
        parser.error(f"--langs must look like en-fa, got {args.langs!r}")
    args.decoding = decoding_options(parser, args)
    if (args.ensemble or args.weights) and len(args.model) < 2:
        parser.error("--ensemble and --weights need two -m models or more")
    if args.weights and not args.ensemble:
        parser.error("--weights are an ensemble's: add --ensemble")
    check_models(parser, args.model, args.weights)
    args.systems = [[model] for model in args.model] + ([args.model] if args.ensemble else [])
    return args


def load_model(paths: list[Path], args: argparse.Namespace) -> tuple[System, str]:
    """The model directory (or an ensemble's) as a System, and its direction."""
    translator = load_translator(paths, args)
    if args.langs is not None and translator.loaded.spec.tags is not None:
        translator = translator.directed(*args.langs.split("-"))
    spec = translator.loaded.spec
    name = "+".join(map(str, paths))
    system = model_system(translator, name=name, options=args.decoding)
    return system, f"{iso_code(spec.src_lang)}-{iso_code(spec.tgt_lang)}"


def usage_error(message: str) -> NoReturn:
    """What argparse does for a usage error found after parsing: one line, exit status 2."""
    print(f"seq2seq-eval: error: {message}", file=sys.stderr)
    sys.exit(2)


def direction_of(models: list[str], langs: str | None) -> str | None:
    """The one direction of all models and of --langs (None when neither says)."""
    given = "-".join(iso_code(code) for code in langs.split("-")) if langs else None
    directions = set(models) | ({given} if given else set())
    if len(directions) > 1:
        usage_error(f"the systems translate different directions: {', '.join(sorted(directions))}")
    return next(iter(directions), None)


def report_table(report: TestSetReport) -> Table:
    direction = f"{report.direction}, " if report.direction else ""
    table = Table(title=f"{report.name} ({direction}{report.sentences} sentences)")
    table.add_column("system", overflow="fold")  # a long path wraps, never loses its end
    for column in ("BLEU", "chrF", "TER", "len ratio", "decode s", "sent/s"):
        table.add_column(column, justify="right")
    for system in report.systems:
        marks = {k: "*" if p < 0.05 else " " for k, p in system.scores.p_values.items()}
        decoded = system.seconds is not None
        table.add_row(
            system.name,
            *(
                f"{getattr(system.scores, k):.2f}{marks.get(k, ' ')}"
                for k in ("bleu", "chrf", "ter")
            ),
            f"{system.scores.length_ratio:.3f}",
            f"{system.seconds:.1f}" if decoded else "-",
            f"{system.sentences_per_second:.1f}" if decoded else "-",
        )
    return table


def test_sets(args: argparse.Namespace, direction: str | None) -> list[TestData]:
    """The sentences of each test set asked for."""
    if not args.testset:
        return [read_source_and_references(args.src.name, args.src, args.ref, errors=args.errors)]
    if direction is None:
        usage_error("--hyp without a model needs the direction: --langs SRC-TGT")
    src_lang, tgt_lang = direction.split("-")
    return [read_test_set(n, src_lang, tgt_lang, root=args.data_root) for n in args.testset]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with user_errors(), unix_exits(sys.stdout):
        report(args)


def report(args: argparse.Namespace) -> None:
    """Evaluate every system on every test set; print the tables (and write the JSON)."""
    console = Console(soft_wrap=True)
    if not console.is_terminal:  # a file or a pipe: 80 columns would break system names
        console.width = 240
    loaded = [load_model(paths, args) for paths in args.systems]
    direction = direction_of([d for _, d in loaded], args.langs)
    systems = [s for s, _ in loaded] + [System(str(h), hypotheses=h) for h in args.hyp]
    results = []
    models = sum(system.translate is not None for system in systems)
    for data in test_sets(args, direction):
        if models:  # decoding takes a while: say what is under way
            print(f"decoding {data.name} ({len(data.sources)} sentences) with {models} "
                  f"model{'s' * (models > 1)}", file=sys.stderr, flush=True)  # fmt: skip
        result = evaluate(systems, data, direction=direction, errors=args.errors)
        console.print(report_table(result))
        results.append(result)
    if len(systems) > 1:
        console.print(f"* differs from {systems[0].name} with p < 0.05 "
                      "(paired bootstrap resampling, 1000 samples)")  # fmt: skip
    for metric, signature in results[-1].signatures.items():
        console.print(f"{metric} signature: {signature}", highlight=False)
    if args.json:
        args.json.write_text(json.dumps([r.to_dict() for r in results], indent=2) + "\n")
