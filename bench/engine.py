"""The CTranslate2 engine (``--engine``) against our decoder, on a trained model and real text.

Times, on the first ``--lines`` lines of a file, in rounds (``rounds.timed_in_rounds``):
our decoder (the ``Translator``), the CTranslate2 engine as it runs (a worker per thread, each
on one thread), and the engine with one worker of all the threads instead; each on the whole
file in one request (a file, a large batch of requests) and a line at a time (a server's lone
client). Prints seconds and sentences/s, and the ratios within the run.

    .venv/bin/python bench/engine.py -m MODEL_DIR -i FILE [--lines 500] [--beam 5]
        [--threads 2] [--repeats 3] [--precision fp32|int8]
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import seq2seq.cli  # noqa: F401  first: sets OpenMP's thread waiting as the CLIs do, before torch

# isort: split

import torch

from seq2seq.export.engine import COMPUTE_TYPES, CTranslate2Engine, cpu_translator
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.translator import Translator

from machine import print_machine  # bench/machine.py, beside this script
from rounds import timed_in_rounds


def one_worker(engine: CTranslate2Engine, precision: str, threads: int) -> CTranslate2Engine:
    """``engine`` with one CTranslate2 worker of ``threads`` threads instead."""
    other = copy.copy(engine)
    other.ct2 = cpu_translator(engine.converted, precision=precision, workers=1, threads=threads)
    return other


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--model", type=Path, required=True)
    parser.add_argument("-i", "--input", type=Path, required=True)
    parser.add_argument("--lines", type=int, default=500)
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precision", choices=tuple(COMPUTE_TYPES), default="fp32")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print_machine()
    lines = args.input.read_text(encoding="utf-8").splitlines()[: args.lines]
    options = DecodingOptions(beam_size=args.beam)
    translator = Translator.load(args.model, precision=args.precision)
    engine = CTranslate2Engine.start(translator, args.model, precision=args.precision)
    systems = {
        "ours (torch)": translator,
        f"ctranslate2 engine ({args.threads} workers x 1 thread)": engine,
        f"ctranslate2, 1 worker x {args.threads} threads": one_worker(
            engine, args.precision, args.threads
        ),
    }
    print(f"{len(lines)} lines of {args.input}, beam {args.beam}, {args.precision}")
    shapes = {"all in one request": [lines], "a line at a time": [[line] for line in lines]}
    for shape, calls in shapes.items():
        runs = {
            name: lambda s=system, cs=calls: [s.translate_nbest(c, options=options) for c in cs]
            for name, system in systems.items()
        }
        seconds = timed_in_rounds(runs, args.repeats)
        base = seconds["ours (torch)"]
        print(f"\n{shape}: seconds, sentences/s, speed against ours")
        for name, time in seconds.items():
            print(f"  {name:<44}{time:8.2f}{len(lines) / time:9.1f}{base / time:7.2f}x")


if __name__ == "__main__":
    main()
