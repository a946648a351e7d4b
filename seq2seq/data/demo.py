"""The demo corpus: synthetic English -> Persian phrases that our own code writes.

Small enough to learn in minutes, rich enough to need attention: Persian puts the adjective
after the noun ("the three red books" -> "سه کتاب قرمز"), keeps the noun singular after a
number, builds numbers as "بیست و سه" (twenty-three), puts the verb last and marks a definite
object with "را". Train, dev and test sets are disjoint sentence sets drawn with a fixed seed.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

from seq2seq.common.atomic import publish_directory

# (singular, plural, Persian); Persian plurals are noun + ZWNJ + ها.
NOUNS = [
    ("book", "books", "کتاب"), ("pen", "pens", "قلم"), ("car", "cars", "ماشین"),
    ("house", "houses", "خانه"), ("tree", "trees", "درخت"), ("flower", "flowers", "گل"),
    ("bird", "birds", "پرنده"), ("chair", "chairs", "صندلی"), ("table", "tables", "میز"),
    ("door", "doors", "در"), ("window", "windows", "پنجره"), ("apple", "apples", "سیب"),
    ("cat", "cats", "گربه"), ("dog", "dogs", "سگ"), ("ship", "ships", "کشتی"),
    ("shirt", "shirts", "پیراهن"), ("bag", "bags", "کیف"), ("lamp", "lamps", "چراغ"),
    ("key", "keys", "کلید"), ("cup", "cups", "فنجان"), ("letter", "letters", "نامه"),
    ("horse", "horses", "اسب"), ("bicycle", "bicycles", "دوچرخه"), ("clock", "clocks", "ساعت"),
]  # fmt: skip
ADJECTIVES = [
    ("red", "قرمز"), ("blue", "آبی"), ("green", "سبز"), ("black", "سیاه"), ("white", "سفید"),
    ("big", "بزرگ"), ("small", "کوچک"), ("new", "جدید"), ("old", "قدیمی"),
    ("beautiful", "زیبا"), ("heavy", "سنگین"), ("cheap", "ارزان"), ("expensive", "گران"),
]  # fmt: skip
UNITS = [("kilogram", "کیلوگرم"), ("liter", "لیتر"), ("bag", "کیسه"), ("bottle", "بطری")]
MASS = [("rice", "برنج"), ("sugar", "شکر"), ("water", "آب"), ("milk", "شیر"), ("tea", "چای")]
MONTHS = [
    ("January", "ژانویه"), ("February", "فوریه"), ("March", "مارس"), ("April", "آوریل"),
    ("May", "مه"), ("June", "ژوئن"), ("July", "ژوئیه"), ("August", "اوت"),
    ("September", "سپتامبر"), ("October", "اکتبر"), ("November", "نوامبر"), ("December", "دسامبر"),
]  # fmt: skip
ONES_EN = [
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
ONES_FA = [
    "یک",
    "دو",
    "سه",
    "چهار",
    "پنج",
    "شش",
    "هفت",
    "هشت",
    "نه",
    "ده",
    "یازده",
    "دوازده",
    "سیزده",
    "چهارده",
    "پانزده",
    "شانزده",
    "هفده",
    "هجده",
    "نوزده",
]
TENS_EN = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
TENS_FA = ["بیست", "سی", "چهل", "پنجاه", "شصت", "هفتاد", "هشتاد", "نود"]
PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ZWNJ = "\u200c"


def number_words(n: int) -> tuple[str, str]:
    """1..99 in English and Persian words: 23 -> ("twenty-three", "بیست و سه")."""
    if n < 20:
        return ONES_EN[n - 1], ONES_FA[n - 1]
    tens, ones = divmod(n, 10)
    if not ones:
        return TENS_EN[tens - 2], TENS_FA[tens - 2]
    return f"{TENS_EN[tens - 2]}-{ONES_EN[ones - 1]}", f"{TENS_FA[tens - 2]} و {ONES_FA[ones - 1]}"


def ezafe(noun: str) -> str:
    """The noun as it stands before an adjective: a final silent heh takes ZWNJ + ی."""
    return f"{noun}{ZWNJ}ی" if noun.endswith("ه") else noun


def noun_phrase(rng: random.Random, *, definite: bool) -> tuple[str, str]:
    """("the three red books", "سه کتاب قرمز"), ("a big house", "یک خانه‌ی بزرگ"), ..."""
    singular, plural, noun = rng.choice(NOUNS)
    adjective_en, adjective_fa = rng.choice(ADJECTIVES)
    kind = rng.choice(["one", "number", "plural"])
    article = "the " if definite else ""
    if kind == "one":
        indefinite = "an" if adjective_en[0] in "aeiou" else "a"
        english = f"{'the' if definite else indefinite} {adjective_en} {singular}"
        return english, f"{'' if definite else 'یک '}{ezafe(noun)} {adjective_fa}"
    if kind == "plural":
        return f"{article}{adjective_en} {plural}", f"{noun}{ZWNJ}های {adjective_fa}"
    count_en, count_fa = number_words(rng.randint(2, 99))
    return (
        f"{article}{count_en} {adjective_en} {plural}",
        f"{count_fa} {ezafe(noun)} {adjective_fa}",
    )


def quantity(rng: random.Random) -> tuple[str, str]:
    """("three kilograms of rice", "سه کیلوگرم برنج")."""
    (unit_en, unit_fa), (mass_en, mass_fa) = rng.choice(UNITS), rng.choice(MASS)
    n = rng.randint(1, 99)
    count_en, count_fa = number_words(n)
    return (
        f"{count_en} {unit_en}{'s' if n > 1 else ''} of {mass_en}",
        f"{count_fa} {unit_fa} {mass_fa}",
    )


def sentence(rng: random.Random) -> tuple[str, str]:
    """One English sentence and its Persian translation."""
    kind = rng.randrange(5)
    if kind == 0:
        english, persian = noun_phrase(rng, definite=True)
        return f"I see {english}.", f"من {persian} را می{ZWNJ}بینم."
    if kind == 1:
        english, persian = noun_phrase(rng, definite=False)
        return f"We bought {english}.", f"ما {persian} خریدیم."
    if kind == 2:
        english, persian = quantity(rng)
        return f"They need {english}.", f"آن{ZWNJ}ها {persian} لازم دارند."
    if kind == 3:
        (month_en, month_fa), day = rng.choice(MONTHS), rng.randint(1, 28)
        return f"The meeting is on {month_en} {day}.", (
            f"جلسه در {str(day).translate(PERSIAN_DIGITS)} {month_fa} است."
        )
    singular, _, noun = rng.choice(NOUNS)
    (adjective_en, adjective_fa), (other_en, other_fa) = rng.sample(ADJECTIVES, 2)
    return (
        f"The {adjective_en} {singular} is {other_en}.",
        f"{ezafe(noun)} {adjective_fa} {other_fa} است.",
    )


def write_demo_corpus(root: Path, *, train: int, dev: int, test: int, seed: int) -> None:
    """Write train/dev/test ``demo.{en,fa}`` under ``root``; the three sets share no sentence.

    The folder is built beside ``root`` and renamed into place, so processes that write it at
    once (the ranks of a multi-process run) never read one another's half-written files.
    """
    staged = root.with_name(f".{root.name}.tmp-{os.getpid()}")
    root.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(staged, ignore_errors=True)
    try:
        _write_splits(staged, train=train, dev=dev, test=test, seed=seed)
        publish_directory(staged, root, complete=Path.is_dir)
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def _write_splits(root: Path, *, train: int, dev: int, test: int, seed: int) -> None:
    rng = random.Random(seed)
    sizes = {"test": test, "dev": dev, "train": train}
    seen: set[str] = set()
    for split, size in sizes.items():
        pairs = []
        while len(pairs) < size:
            english, persian = sentence(rng)
            if english not in seen:
                seen.add(english)
                pairs.append((english, persian))
        (root / split).mkdir(parents=True, exist_ok=True)
        for index, lang in enumerate(("en", "fa")):
            lines = "".join(pair[index] + "\n" for pair in pairs)
            (root / split / f"demo.{lang}").write_text(lines, encoding="utf-8")
