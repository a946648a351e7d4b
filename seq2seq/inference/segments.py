"""Texts cut into sentences to translate, and whole-text candidates from those of the sentences.

HTML is cut at its blocks (``seq2seq.data.markup``): each block's text is translated as whole
sentences, and its inline elements are put around the words their own words were translated
into (``seq2seq.data.inline``), by a word alignment of each of those sentences with its
translation that the caller gives (``Align``: the model's cross-attention, in the server).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate, pairwise
from typing import TypeVar

from seq2seq.data.inline import Span, target_ranges, word_spans
from seq2seq.data.markup import Block, parse_html
from seq2seq.data.sentences import SplitText, split_sentences
from seq2seq.inference.translator import Candidate

Align = Callable[[str, str], list[int | None]]
"""(source sentence, its translation) -> per word of the translation, its source word or None."""

T = TypeVar("T")


def regroup(flat: Sequence[T], sizes: list[int]) -> list[Sequence[T]]:
    """``flat`` cut back into consecutive groups of ``sizes`` (what was flattened for one call)."""
    bounds = [0, *accumulate(sizes)]
    return [flat[start:end] for start, end in pairwise(bounds)]


def whole_text_candidates(
    per_sentence: list[list[Candidate]], render: Callable[[list[str]], str], *, nbest: int
) -> list[Candidate]:
    """Up to ``nbest`` candidates of a text whose sentences got ``per_sentence``, best first.

    Candidate r renders the r-th candidate of each sentence (the last one of a sentence that
    has fewer) with ``render``; its score is the mean of theirs, None if any is None or the
    text has no sentence.
    """
    ranks = min(nbest, max((len(c) for c in per_sentence), default=1))
    candidates = []
    for rank in range(ranks):
        chosen = [c[min(rank, len(c) - 1)] for c in per_sentence]
        scores = [c.score for c in chosen]
        score = None if None in scores or not scores else sum(scores) / len(scores)
        candidates.append(Candidate(render([c.text for c in chosen]), score))
    return candidates


@dataclass(frozen=True)
class Segmented:
    """A text cut into sentences, and how to put translations of them in their place.

    Attributes:
        sentences: the text's sentences, in order.
        aligned: the sentences whose translations ``render`` needs aligned: those of HTML blocks
            that hold inline elements.
        render: (a translation per sentence, an ``Align`` that knows each pair of ``aligned``)
            -> the translated text.
    """

    sentences: list[str]
    aligned: list[str]
    render: Callable[[list[str], Align], str]


def segment(text: str, *, html_markup: bool) -> Segmented:
    """The sentences of ``text`` (plain, or HTML when ``html_markup``)."""
    if not html_markup:
        split = split_sentences(text)
        return Segmented(split.sentences, [], lambda translations, align: split.join(translations))
    document = parse_html(text)
    splits = [split_sentences(block.text) for block in document.blocks]

    def render(translations: list[str], align: Align) -> str:
        sizes = [len(split.sentences) for split in splits]
        return document.render([
            _block_markup(block, split, mine, align)
            for block, split, mine in zip(document.blocks, splits, regroup(translations, sizes),
                                          strict=True)
        ])  # fmt: skip

    aligned = [s for block, split in zip(document.blocks, splits, strict=True)
               if block.elements for s in split.sentences]  # fmt: skip
    return Segmented([s for split in splits for s in split.sentences], aligned, render)


def _block_markup(block: Block, split: SplitText, translations: Sequence[str], align: Align) -> str:
    """The block's translation, escaped, with its inline elements placed by ``align``."""
    target = split.join(list(translations))
    if not block.elements:
        return html.escape(target, quote=False)
    source_words: list[Span] = []
    aligned: list[int | None] = []
    starts = _starts(split)
    for sentence, translation, source_at in zip(split.sentences, translations, starts, strict=True):
        first = len(source_words)
        source_words += [(s + source_at, e + source_at) for s, e in word_spans(sentence)]
        aligned += [None if i is None else first + i for i in align(sentence, translation)]
    ranges = target_ranges(block, target, source_words=source_words, aligned=aligned)
    return block.render(target, ranges)


def _starts(split: SplitText) -> list[int]:
    """Where each sentence starts in the text that was split."""
    starts, position = [], 0
    for gap, sentence in zip(split.gaps[:-1], split.sentences, strict=True):
        position += len(gap)
        starts.append(position)
        position += len(sentence)
    return starts
