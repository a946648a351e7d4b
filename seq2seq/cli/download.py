"""seq2seq-download NAME --root DIR: fetch a data layout (conf/downloads/NAME.yaml), checked;
or an OPUS corpus: seq2seq-download opus --corpus NAME --version V --pair en-fa --root DIR."""

from __future__ import annotations

import argparse
from pathlib import Path

from seq2seq.cli.common import user_errors
from seq2seq.data.download import download, load_manifest
from seq2seq.data.opus import OPUS_BASE, OpusCorpus, fetch_opus


def build_parser() -> argparse.ArgumentParser:
    """seq2seq-download's arguments, unparsed (docs/cli.md is rendered from them)."""
    parser = argparse.ArgumentParser(prog="seq2seq-download", description=__doc__.split(": ")[1])
    parser.add_argument("name", help="manifest name, e.g. en-fa; or opus")
    parser.add_argument("--root", type=Path, required=True, help="where the layout goes")
    parser.add_argument("--mirror", help="base URL of a copy of the layout (or of OPUS's "
                        f"storage, default {OPUS_BASE}), instead of upstream")  # fmt: skip
    opus = parser.add_argument_group("OPUS corpora (name opus)")
    opus.add_argument("--corpus", help="OPUS corpus name, e.g. TEP, MIZAN, OpenSubtitles")
    opus.add_argument("--version", help="the corpus version, e.g. v1")
    opus.add_argument("--pair", help="the two languages, e.g. en-fa")
    opus.add_argument("--sha256", help="expected sha256 of the zip, when known")
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    opus_options = {"--corpus": args.corpus, "--version": args.version, "--pair": args.pair}
    if args.name == "opus":
        missing = [option for option, value in opus_options.items() if not value]
        if missing:
            parser.error(f"opus needs {', '.join(missing)}")
        if len(args.pair.split("-")) != 2:
            parser.error(f"--pair must look like en-fa, got {args.pair!r}")
    elif any(opus_options.values()) or args.sha256:
        parser.error("--corpus, --version, --pair and --sha256 go with opus")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with user_errors():
        if args.name == "opus":
            fetch_opus_corpus(args)
            return
        download(
            load_manifest(args.name), args.root, mirror=args.mirror,
            report=lambda path, status: print(f"{status:>10}  {args.root / path}"),
        )  # fmt: skip
    print(f"{args.root}: every file matches its sha256")


def fetch_opus_corpus(args: argparse.Namespace) -> None:
    corpus = OpusCorpus(args.corpus, args.version, tuple(args.pair.split("-")))
    result = fetch_opus(corpus, args.root, base=args.mirror or OPUS_BASE, sha256=args.sha256)
    for path in result.files.values():
        print(f"{'wrote':>10}  {path}")
    checked = "matches" if args.sha256 else "is"
    print(f"{corpus.corpus} {corpus.version} {corpus.pair}: {result.pairs:,} line-aligned pairs "
          f"(UTF-8); the zip's sha256 {checked} {result.sha256}")  # fmt: skip
