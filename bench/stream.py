"""Translating a large file with seq2seq-translate: peak memory and sentences/s by file size.

For each size, the text's lines are cycled to that many lines and translated in a fresh
process (``-i FILE -o FILE``, as a distillation run translates a corpus); the process's peak
RSS comes from ``wait4``. Output is written a chunk at a time, so memory should not grow with
the file: the largest size's peak within 1.1x of the smallest's.

    .venv/bin/python bench/stream.py -m MODEL_DIR --text F [--sizes 10000 100000] [--beam 5] \
        [--engine torch]
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import print_machine  # bench/machine.py, beside this script

SCRIPT = Path(sys.executable).parent / "seq2seq-translate"


def cycled(text: Path, count: int, into: Path) -> Path:
    """The first ``count`` lines of ``text`` repeated, written to ``into``."""
    lines = text.read_text(encoding="utf-8").splitlines(keepends=True)
    into.write_text("".join(itertools.islice(itertools.cycle(lines), count)), encoding="utf-8")
    return into


def run(model: Path, source: Path, beam: int, engine: str) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of translating ``source`` in a fresh process."""
    output = source.with_suffix(".out")
    args = [str(SCRIPT), "-m", str(model), "-i", str(source), "-o", str(output),
            "--beam", str(beam), "--engine", engine]  # fmt: skip
    start = time.perf_counter()
    process = subprocess.Popen(args)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"seq2seq-translate failed on {source}")
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--model", type=Path, required=True)
    parser.add_argument("--text", type=Path, required=True, help="source lines to cycle")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--engine", choices=("torch", "ctranslate2"), default="torch")
    args = parser.parse_args()
    print_machine()
    print(f"model {args.model}, engine {args.engine}, beam {args.beam}, lines of {args.text}")
    print(f"{'lines':>8} {'seconds':>8} {'sentences/s':>12} {'peak RSS MiB':>13}")
    peaks = []
    with tempfile.TemporaryDirectory() as work:
        for size in args.sizes:
            source = cycled(args.text, size, Path(work) / f"{size}.txt")
            seconds, peak = run(args.model, source, args.beam, args.engine)
            peaks.append(peak)
            print(f"{size:>8} {seconds:>8.1f} {size / seconds:>12.1f} {peak:>13.0f}", flush=True)
    print(f"peak RSS, largest / smallest size: {peaks[-1] / peaks[0]:.2f}x")


if __name__ == "__main__":
    main()
