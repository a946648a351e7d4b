"""A small English-Persian corpus that the data tests write themselves."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

from seq2seq.data.corpus import DataConfig

WORDS = [
    ("book", "کتاب"),
    ("red", "قرمز"),
    ("big", "بزرگ"),
    ("house", "خانه"),
    ("cat", "گربه"),
    ("small", "کوچک"),
    ("city", "شهر"),
    ("new", "نو"),
    ("tree", "درخت"),
    ("green", "سبز"),
]


def sentence_pairs(count: int, *, seed: int) -> list[tuple[str, str]]:
    """Distinct three-word phrases, word by word (the Persian is not a real translation)."""
    rng = random.Random(seed)
    phrases = rng.sample(list(itertools.product(WORDS, repeat=3)), count)
    return [(" ".join(w[0] for w in p), " ".join(w[1] for w in p)) for p in phrases]


def write_pairs(directory: Path, name: str, pairs: list[tuple[str, str]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for index, lang in enumerate(("en", "fa")):
        text = "".join(pair[index] + "\n" for pair in pairs)
        (directory / f"{name}.{lang}").write_text(text, encoding="utf-8")


def write_corpus(root: Path) -> Path:
    """train (with a few pairs every filter drops), dev and test sets under ``root``."""
    noisy = [
        ("", "خالی"),  # empty source
        ("\u00a0 ", "خالی"),  # whitespace-only source: empty once normalized
        ("COVID", "COVID"),  # identical sides
        ("no persian here", "nothing"),  # target not in Arabic script
        ("red book", "كتاب قرمز"),  # Arabic kaf: normalized to keheh
    ]
    train = sentence_pairs(300, seed=1)
    write_pairs(root / "train", "a", train + noisy + train[:5])  # 5 duplicates
    write_pairs(root / "dev", "dev", unseen_pairs(20, seed=2, seen=train))
    write_pairs(root / "test", "test", unseen_pairs(30, seed=3, seen=train))
    return root


def unseen_pairs(count: int, *, seed: int, seen: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``count`` pairs of ``sentence_pairs`` that are not in ``seen`` (dev and test sets)."""
    return [pair for pair in sentence_pairs(200, seed=seed) if pair not in seen][:count]


def data_config(root: Path, **filters: object) -> DataConfig:
    return DataConfig.from_config(
        {
            "root": str(root),
            "src_lang": "en",
            "tgt_lang": "fa",
            "train": [{"en": "train/a.en", "fa": "train/a.fa"}],
            "valid": {"en": "dev/dev.en", "fa": "dev/dev.fa"},
            "test": {"t": {"en": "test/test.en", "fa": "test/test.fa"}},
            "normalization": {"en": {}, "fa": {"persian": True, "digits": "persian"}},
            "scripts": {"en": "latin", "fa": "arabic"},
            "filters": {"max_tokens": 250, "max_ratio": 3.0, **filters},
        }
    )
