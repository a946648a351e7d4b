"""Which loaded language a text is written in, judged by its script."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

SCRIPTS = {"en": "LATIN", "fa": "ARABIC", "ar": "ARABIC", "de": "LATIN", "fr": "LATIN"}
"""The script of each language we can name; unicodedata names each letter after its script."""


@dataclass(frozen=True)
class Detection:
    language: str
    confidence: float  # percent of the text's letters in the language's script, 0-100


def detect(text: str, languages: list[str]) -> list[Detection]:
    """The ``languages`` whose script the letters of ``text`` are written in, likeliest first.

    Languages sharing a script share its share of the letters; with no letters at all, each
    language gets confidence 0 (in the order given).
    """
    letters = [unicodedata.name(c, "").split(" ", 1)[0] for c in text if c.isalpha()]
    found = []
    for code in languages:
        script = SCRIPTS.get(code)
        same_script = sum(SCRIPTS.get(other) == script for other in languages)
        share = letters.count(script) / len(letters) / same_script if letters and script else 0.0
        found.append(Detection(code, round(100 * share, 1)))
    return sorted(found, key=lambda d: -d.confidence)
