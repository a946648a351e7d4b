"""Where a block's inline elements go in its translation, by word alignment.

Words here are runs of letters and digits (a Persian zero-width non-joiner included) and each
punctuation mark alone, so that a full stop after an element's last word stays outside it. An
element holds the target words aligned to the source words it held (from the first to the last
of them); one whose words are all unaligned, or that held none, sits where the target word
aligned to the next source word starts. Elements stay within their parent and are kept
apart from their siblings, so that the markup nests as the source's did; siblings may change
order, as the words do ("the <b>red</b> <i>books</i>" -> "<i>کتاب‌ها</i>ی <b>قرمز</b>").
"""

from __future__ import annotations

import re

from seq2seq.data.markup import Block, Inline, Ranges

Span = tuple[int, int]
WORD = re.compile(r"[\w\u200c]+|[^\w\s]")


def word_spans(text: str) -> list[Span]:
    """(start, end) of each word and each punctuation mark of ``text``."""
    return [match.span() for match in WORD.finditer(text)]


def target_ranges(
    block: Block, target: str, *, source_words: list[Span], aligned: list[int | None]
) -> Ranges:
    """Each element's characters in ``target``, the translation of ``block.text``.

    Args:
        source_words: the words of ``block.text``, as ``word_spans`` gives them.
        aligned: per word of ``target`` (``word_spans``), the index of the source word it is
            aligned to, or None.
    """
    target_words = word_spans(target)
    if len(aligned) != len(target_words):
        raise ValueError(f"{len(aligned)} alignments for {len(target_words)} target words")
    placed: dict[int, Span] = {}
    first_start: dict[int, int] = {}  # source word -> where its first aligned target word starts
    for (start, _), i in zip(target_words, aligned, strict=True):
        first_start.setdefault(i, start)

    def hull(element: Inline) -> Span:
        held = {i for i, (s, e) in enumerate(source_words) if s < element.end and e > element.start}
        words = [target_words[k] for k, i in enumerate(aligned) if i in held]
        if words:
            return min(s for s, _ in words), max(e for _, e in words)
        after = (i for i, (s, _) in enumerate(source_words) if s >= element.start)
        anchor = next((first_start[i] for i in after if i in first_start), len(target))
        return anchor, anchor

    def place(elements: list[Inline], low: int, high: int) -> None:
        spans = []
        for element in elements:
            start, end = hull(element)
            start = min(max(start, low), high)
            spans.append((start, min(max(end, start), high), element))
        previous = low
        for start, end, element in sorted(spans, key=lambda s: s[:2]):
            start = max(start, previous)
            previous = end = max(end, start)
            placed[id(element)] = (start, end)
            place(element.children, start, end)

    place(block.elements, 0, len(target))
    return lambda element: placed[id(element)]
