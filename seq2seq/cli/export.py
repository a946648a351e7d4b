"""seq2seq-export -m MODEL_DIR --to {huggingface,ctranslate2,argos} -o OUT: a model directory
for other runtimes."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from seq2seq.cli.common import add_shortlist_arguments, require_model_dir, user_errors
from seq2seq.common.errors import DataError
from seq2seq.data.readers import read_lines
from seq2seq.export.check import ExportCheck, check_export
from seq2seq.export.formats import export_argos, export_ctranslate2, export_huggingface
from seq2seq.modeldir.format import CONFIG, load_model_dir
from seq2seq.modeldir.shortlist import chosen_shortlist

MIN_AGREEMENT = 0.99  # of the lines an fp32 export must translate exactly as we do
PACKAGES = {"huggingface": "transformers", "ctranslate2": "ctranslate2", "argos": "ctranslate2"}


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


def build_parser() -> argparse.ArgumentParser:
    """seq2seq-export's arguments, unparsed (docs/cli.md is rendered from them)."""
    parser = argparse.ArgumentParser(prog="seq2seq-export", description=__doc__.split(": ")[1])
    parser.add_argument("-m", "--model", type=Path, required=True, help="model directory")
    parser.add_argument("--to", choices=sorted(PACKAGES), required=True,
                        help="argos: an Argos Translate package; ctranslate2: a CTranslate2 "
                        "model; huggingface: a MarianMT model for transformers")  # fmt: skip
    parser.add_argument("-o", "--output", type=Path, required=True, help="directory to write")
    parser.add_argument(
        "--quantization",
        help="ctranslate2 and argos: int8, int8_float32, int16 (default: float32)",
    )
    parser.add_argument(
        "--check", type=Path, metavar="FILE",
        help="translate FILE (greedy) with the model and with the export and compare them",
    )  # fmt: skip
    parser.add_argument(
        "--min-agreement", type=float, metavar="SHARE",
        help=f"with --check: exit 1 when fewer lines agree (default {MIN_AGREEMENT}; "
        "none for int8 exports, whose differences are only reported)",
    )  # fmt: skip
    add_shortlist_arguments(
        parser, use="ctranslate2: write this lexical shortlist (seq2seq-shortlist) as the "
        "model's vocabulary map, vmap.txt, which CTranslate2 uses with use_vmap=True",
        without="ctranslate2: no vocabulary map",
    )  # fmt: skip
    parser.add_argument(
        "--force", action="store_true",
        help="write into a folder that already holds files (those of the same name are replaced)",
    )  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    require_model_dir(parser, args.model)
    check_output(parser, args.output, force=args.force)
    if args.check is not None and not args.check.is_file():
        parser.error(f"--check {args.check}: no such file")
    if args.check is not None and args.to == "argos":
        parser.error("--check compares huggingface and ctranslate2 exports: check the model "
                     "with --to ctranslate2, which an argos package holds")  # fmt: skip
    if args.min_agreement is not None and not 0 <= args.min_agreement <= 1:
        parser.error(f"--min-agreement {args.min_agreement}: a share between 0 and 1")
    package = PACKAGES[args.to]
    if importlib.util.find_spec(package) is None:
        print(f"error: the export needs {package}: pip install -e '.[peers]'", file=sys.stderr)
        sys.exit(1)
    with user_errors():
        loaded = load_model_dir(args.model)
        if loaded.model.cfg.decoder_only:
            raise DataError(
                args.model,
                f"is a decoder-only model: the {args.to} export writes encoder-decoder models only",
            )
        if args.to == "huggingface":
            written = export_huggingface(loaded, args.output)
        elif args.to == "argos":
            written = export_argos(loaded, args.output, quantization=args.quantization)
        else:
            shortlist = chosen_shortlist(
                args.model, args.shortlist,
                src_tokenizer=loaded.src_tokenizer, tgt_tokenizer=loaded.tgt_tokenizer,
            )  # fmt: skip
            written = export_ctranslate2(
                loaded, args.output, quantization=args.quantization, shortlist=shortlist
            )
    print(f"{args.model} -> {written} ({args.to})")
    if args.check is not None:
        with user_errors():
            sentences = list(read_lines(args.check))
            check = check_export(loaded, args.output, kind=args.to, sentences=sentences)
        report_check(check, args)


def report_check(check: ExportCheck, args: argparse.Namespace) -> None:
    """Print the comparison; exit 1 when its agreement is below the threshold."""
    first = check.first_difference
    differs = "" if first is None else f"; the first that differs: line {first}"
    print(
        f"check {args.check}: {check.agreement:.1%} of {check.lines} lines agree{differs}; "
        f"the export's output against ours: BLEU {check.bleu:.2f}, chrF {check.chrf:.2f}"
    )
    quantized = args.quantization is not None and "int8" in args.quantization
    threshold = args.min_agreement
    if threshold is None and not quantized:
        threshold = MIN_AGREEMENT
    if threshold is not None and check.agreement < threshold:
        print(
            f"error: {check.agreement:.1%} of the lines agree, below --min-agreement {threshold}",
            file=sys.stderr,
        )
        sys.exit(1)
