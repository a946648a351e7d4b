"""seq2seq-download NAME --root DIR: fetch a data layout (conf/downloads/NAME.yaml), checked."""

from __future__ import annotations

import argparse
from pathlib import Path

from seq2seq.cli.common import user_errors
from seq2seq.data.download import download, load_manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="seq2seq-download", description=__doc__.split(": ")[1])
    parser.add_argument("name", help="manifest name, e.g. en-fa")
    parser.add_argument("--root", type=Path, required=True, help="where the layout goes")
    parser.add_argument("--mirror", help="base URL of a copy of the layout, instead of upstream")
    args = parser.parse_args(argv)
    with user_errors():
        download(
            load_manifest(args.name), args.root, mirror=args.mirror,
            report=lambda path, status: print(f"{status:>10}  {args.root / path}"),
        )  # fmt: skip
    print(f"{args.root}: every file matches its sha256")
