"""Peak memory and speed of data preparation + one epoch of batches, at 100K and 1M pairs.

Each size runs in a fresh process that prepares a synthetic corpus (written beforehand by this
script, in four training files, one with held-out dev and test parts, as the en-fa layout
has them) and iterates one epoch of training batches; the process reports its peak RSS. Flat
memory means the 1M run's peak stays within 1.5x of the 100K run's.

    .venv/bin/python bench/data_memory.py [--sizes 100000 1000000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import print_machine  # bench/machine.py, beside this script

EN = [
    "the",
    "a",
    "red",
    "big",
    "small",
    "house",
    "book",
    "city",
    "tree",
    "river",
    "green",
    "old",
    "new",
    "road",
    "day",
    "night",
    "man",
    "woman",
    "child",
    "water",
    "fire",
    "people",
    "world",
    "time",
    "year",
    "work",
    "school",
    "story",
    "music",
    "friend",
    "family",
]
FA = [
    "کتاب",
    "خانه",
    "شهر",
    "درخت",
    "رود",
    "سبز",
    "قدیمی",
    "نو",
    "جاده",
    "روز",
    "شب",
    "مرد",
    "زن",
    "کودک",
    "آب",
    "آتش",
    "مردم",
    "جهان",
    "زمان",
    "سال",
    "کار",
    "مدرسه",
    "داستان",
    "موسیقی",
    "دوست",
    "خانواده",
    "بزرگ",
    "کوچک",
    "قرمز",
]
SPM_SENTENCES = 100_000  # tokenizer.max_sentences: the cap that keeps SentencePiece flat


# The training files as the en-fa layout has them: several corpora of different sizes (shares
# of the pairs), one of which holds out dev and test parts by a hash of each pair.
TRAIN_FILES = {"a": 0.5, "b": 0.3, "c": 0.15, "d": 0.05}
HELD_OUT = {"dev": 500, "test": 500}


def write_corpus(root: Path, pairs: int, *, seed: int) -> None:
    """train/{a,b,c,d}.{en,fa} with ``pairs`` random 4-30 word sentences in all; small dev
    and test sets."""
    rng = random.Random(seed)
    counts = {f"train/{name}": round(pairs * share) for name, share in TRAIN_FILES.items()}
    for name, count in {**counts, "dev/x": 500, "test/x": 500}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        with open(root / f"{name}.en", "w") as en, open(root / f"{name}.fa", "w") as fa:
            for _ in range(count):
                length = rng.randint(4, 30)
                en.write(" ".join(rng.choices(EN, k=length)) + "\n")
                fa.write(" ".join(rng.choices(FA, k=length + rng.randint(-2, 2))) + "\n")


def data_config(root: Path):
    """Every training file, the held-out corpus among them, its test part a test set."""
    from seq2seq.data.corpus import DataConfig

    train = [{"en": f"train/{name}.en", "fa": f"train/{name}.fa"} for name in TRAIN_FILES]
    train[-1]["held_out"] = HELD_OUT
    return DataConfig.from_config(
        {
            "root": str(root), "src_lang": "en", "tgt_lang": "fa", "train": train,
            "valid": {"en": "dev/x.en", "fa": "dev/x.fa"},
            "test": {"x": {"en": "test/x.en", "fa": "test/x.fa"},
                     "d": {**train[-1], "part": "test"}},
            "normalization": {"fa": {"persian": True}},
            "scripts": {"en": "latin", "fa": "arabic"},
        }
    )  # fmt: skip


def child(root: Path, out: Path) -> None:
    """Prepare, iterate one epoch, print a JSON line with the figures."""
    from seq2seq.data.prepare import prepare
    from seq2seq.data.tokenizer import TokenizerConfig
    from seq2seq.training.datamodule import TranslationDataModule

    data = data_config(root)
    tokenizer = TokenizerConfig(vocab_size=8000, max_sentences=SPM_SENTENCES)
    start = time.perf_counter()
    report = prepare(data, tokenizer, output_root=out, seed=1)
    prepare_seconds = time.perf_counter() - start
    module = TranslationDataModule(report.output_dir, max_tokens=4096, max_positions=256, seed=1)
    start = time.perf_counter()
    batches = examples = 0
    for batch in module.train_dataloader():
        batches += 1
        examples += len(batch.indices)
    epoch_seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {
        "pairs": report.pairs_read, "examples": examples, "batches": batches,
        "prepare_s": prepare_seconds, "epoch_s": epoch_seconds, "peak_mib": peak_mib,
    }  # fmt: skip
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workdir", type=Path, help="keep corpora here (default: a temp dir)")
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    print_machine()
    print(f"SentencePiece sample cap: {SPM_SENTENCES:,} sentences")
    print(f"{'pairs':>10}{'prepare s':>11}{'pairs/s':>10}{'epoch s':>9}{'peak RSS MiB':>14}")
    with tempfile.TemporaryDirectory(dir=args.workdir) as scratch:
        peaks = []
        for size in args.sizes:
            root = Path(scratch) / f"corpus-{size}"
            write_corpus(root, size, seed=size)
            result = subprocess.run(
                [sys.executable, __file__, "--child", str(root), f"{scratch}/out-{size}"],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            f = json.loads(result.stdout.strip().splitlines()[-1])
            peaks.append(f["peak_mib"])
            rate = f["pairs"] / f["prepare_s"]
            print(
                f"{f['pairs']:>10,}{f['prepare_s']:>11.1f}{rate:>10,.0f}"
                f"{f['epoch_s']:>9.1f}{f['peak_mib']:>14.0f}"
            )
    print(f"peak RSS ratio largest / smallest: {peaks[-1] / peaks[0]:.2f} (goal <= 1.5)")


if __name__ == "__main__":
    main()
