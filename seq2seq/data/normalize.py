"""Text normalization per language, applied identically at training and translation time.

The Persian rules are a small documented table rather than a library: the maintained Persian
NLP toolkits (hazm, parsivar) bring NLTK and model downloads for what is a dozen code points.

| rule | from | to |
|---|---|---|
| Arabic yeh, alef maksura | U+064A ي, U+0649 ى | U+06CC ی (Farsi yeh) |
| Arabic kaf | U+0643 ك | U+06A9 ک (keheh) |
| Arabic heh goal, ae | U+06C1 ہ, U+06D5 ە | U+0647 ه |
| tatweel (kashida) | U+0640 ـ | removed |
| zero-width space, BOM, soft hyphen | U+200B, U+FEFF, U+00AD | removed |
| zero-width non-joiner | runs of U+200C | one U+200C; none next to a space or at either end |
| digits (option) | Arabic-Indic U+0660-0669, Persian U+06F0-06F9 | Persian, or ASCII (latin) |

Every language: Unicode NFC (option), all Unicode spaces to U+0020, runs collapsed, ends
stripped. The result is idempotent: normalizing twice changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

ZWNJ = "\u200c"

_PERSIAN_LETTERS = str.maketrans(
    {
        "\u064a": "\u06cc",
        "\u0649": "\u06cc",
        "\u0643": "\u06a9",
        "\u06c1": "\u0647",
        "\u06d5": "\u0647",
        "\u0640": None,
    }
)
_INVISIBLE = str.maketrans({"\u200b": None, "\ufeff": None, "\u00ad": None})
_ARABIC_INDIC = "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"
_PERSIAN_DIGITS = "\u06f0\u06f1\u06f2\u06f3\u06f4\u06f5\u06f6\u06f7\u06f8\u06f9"
_DIGITS = {
    "keep": str.maketrans({}),
    "persian": str.maketrans(_ARABIC_INDIC, _PERSIAN_DIGITS),
    "latin": str.maketrans(_ARABIC_INDIC + _PERSIAN_DIGITS, "0123456789" * 2),
}
UNICODE_FORMS = (None, "NFC", "NFD", "NFKC", "NFKD")
_SPACES = re.compile(r"\s+")
_ZWNJ_RUNS = re.compile(f"{ZWNJ}+")
_ZWNJ_AT_SPACE = re.compile(f" ?{ZWNJ} ?")


@dataclass(frozen=True)
class NormalizationConfig:
    """How to normalize one language's text.

    Attributes:
        unicode_form: "NFC", "NFKC", ... or None to keep the input's form.
        persian: apply the Persian letter, tatweel and zero-width non-joiner rules.
        digits: "keep"; "persian" maps Arabic-Indic digits to Persian ones; "latin" maps both
            to ASCII 0-9.
    """

    unicode_form: str | None = "NFC"
    persian: bool = False
    digits: Literal["keep", "persian", "latin"] = "keep"

    def __post_init__(self) -> None:
        if self.digits not in _DIGITS:
            raise ValueError(f"digits must be one of {sorted(_DIGITS)}, got {self.digits!r}")
        if self.unicode_form not in UNICODE_FORMS:
            raise ValueError(
                "unicode_form must be one of NFC, NFD, NFKC, NFKD or null, got "
                f"{self.unicode_form!r}"
            )


class Normalizer:
    """A callable text -> normalized text for one language."""

    def __init__(self, config: NormalizationConfig) -> None:
        self.config = config
        self._digits = _DIGITS[config.digits]

    def __call__(self, text: str) -> str:
        if self.config.unicode_form:
            text = unicodedata.normalize(self.config.unicode_form, text)
        text = text.translate(_INVISIBLE).translate(self._digits)
        if self.config.persian:
            text = text.translate(_PERSIAN_LETTERS)
        text = _SPACES.sub(" ", text).strip()
        if self.config.persian:
            text = _ZWNJ_RUNS.sub(ZWNJ, text)
            text = _ZWNJ_AT_SPACE.sub(lambda match: " " if " " in match.group() else ZWNJ, text)
            text = text.strip(ZWNJ + " ")
        return text
