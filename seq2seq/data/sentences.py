"""Sentence splitting for English and Persian text, lossless: the text between sentences is kept.

A model translates one sentence at a time best, as it was trained. A paragraph is cut after
``. ! ? …`` and the Persian ``؟ ؛`` when white space follows (so ``3.14`` and ``example.com``
stay whole). A full stop does not end a sentence before a lower-case letter, after a title
(``Mr.``, ``Dr.``), after an abbreviation before a digit (``No. 5``, ``Fig. 3``) or after an
initial before a capital (``J. K. Rowling``); Persian has no case, so a full stop before
Persian text always ends one. A line break always ends a sentence. ``SplitText.join`` puts
translations back between the original white space, so paragraph breaks survive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TITLES = frozenset({"mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st"})
"""Always followed by a name: never the end of a sentence."""
ABBREVIATIONS = frozenset(
    {"vs", "etc", "e.g", "i.e", "cf", "al", "inc", "ltd", "co", "corp", "no", "nos", "fig"}
    | {"figs", "vol", "eq", "approx", "dept", "est", "a.m", "p.m", "u.s", "u.k"}
    | {"jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
)
"""End a sentence only before a capital letter: ``etc. and`` and ``No. 5`` go on."""
_END = re.compile(r"[.!?…؟؛]+[\"'”’»)\]]*(?=\s)")
_GAP = re.compile(r"\s+")


@dataclass(frozen=True)
class SplitText:
    """Sentences and the white space around them.

    Attributes:
        sentences: the non-empty sentences, in order.
        gaps: ``len(sentences) + 1`` strings: the white space before the first sentence,
            between each two, and after the last.
    """

    sentences: list[str]
    gaps: list[str]

    def join(self, translations: list[str]) -> str:
        """One translation per sentence, put back between the original gaps."""
        if len(translations) != len(self.sentences):
            raise ValueError(
                f"{len(translations)} translations for {len(self.sentences)} sentences"
            )
        parts = [self.gaps[0]]
        for translation, gap in zip(translations, self.gaps[1:], strict=True):
            parts += [translation, gap]
        return "".join(parts)


def split_sentences(text: str) -> SplitText:
    """Split ``text`` into sentences; ``split_sentences(t).join(its sentences) == t``."""
    sentences: list[str] = []
    gaps: list[str] = []
    position = 0
    for line_start, line_end in _lines(text):
        start = line_start
        for cut in _cuts(text, line_start, line_end):
            gaps.append(text[position:start])
            sentences.append(text[start:cut])
            position = cut
            start = _skip_space(text, cut, line_end)
    if not sentences:
        return SplitText([], [text])
    gaps.append(text[position:])
    return SplitText(sentences, gaps)


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line's text without its surrounding white space, if any."""
    spans = []
    for match in re.finditer(r"[^\n\r]+", text):
        stripped = match.group().strip()
        if stripped:
            start = match.start() + match.group().index(stripped)
            spans.append((start, start + len(stripped)))
    return spans


def _cuts(text: str, start: int, end: int) -> list[int]:
    """The end offsets of the sentences of ``text[start:end]`` (a line without edge space)."""
    line = text[start:end]
    cuts = [start + m.end() for m in _END.finditer(line) if _ends_sentence(line, m)]
    return [*cuts, end]


def _ends_sentence(line: str, match: re.Match[str]) -> bool:
    """Whether the terminator ``match`` of ``line`` ends a sentence (see the module's rules)."""
    if match.group() != ".":
        return True
    words = line[: match.start()].rsplit(None, 1) or [""]
    word = words[-1].lstrip("\"'“‘«([").lower()
    following = line[match.end() :].lstrip()[:1]
    if following.islower() or word in TITLES:
        return False
    if word in ABBREVIATIONS:
        return not following.isdigit()
    return not (len(word) == 1 and word.isalpha() and following.isupper())  # an initial


def _skip_space(text: str, position: int, end: int) -> int:
    gap = _GAP.match(text, position, end)
    return gap.end() if gap else position
