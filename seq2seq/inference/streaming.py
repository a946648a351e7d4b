"""Translate a stream of lines a chunk at a time: one output line per input line, written as
each chunk is done, in memory that does not grow with the input."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator

from seq2seq.data.readers import chunked
from seq2seq.data.sentences import split_sentences
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.segments import regroup, whole_text_candidates
from seq2seq.inference.translator import Candidate, Engine

# Whatever the model emits (byte-fallback pieces can decode to anything), one input line gives
# one output line: characters that break a line, or a tab-separated n-best row, become spaces.
ONE_LINE = str.maketrans(dict.fromkeys("\t\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029", " "))


def format_line(candidates: list[Candidate], nbest: int) -> str:
    """The output line of one input line: its best translation, or with ``nbest`` > 1 each
    candidate and its score, tab-separated (an empty line, never decoded, has one candidate,
    empty, with an empty score)."""
    if nbest == 1:
        return candidates[0].text.translate(ONE_LINE)
    return "\t".join(
        f"{c.text.translate(ONE_LINE)}\t{'' if c.score is None else f'{c.score:.4f}'}"
        for c in candidates
    )


def translate_chunks(
    translator: Engine,
    lines: Iterable[str],
    *,
    options: DecodingOptions,
    chunk_lines: int,
    split: bool = False,
    on_truncate: Callable[[int], None] | None = None,
    prefixes: Iterable[str] | None = None,
    constraints: Iterable[list[str]] | None = None,
    on_impossible: Callable[[int], None] | None = None,
) -> Iterator[tuple[list[str], list[list[Candidate]]]]:
    """(source lines, their candidates) for each ``chunk_lines`` lines of ``lines``.

    With ``split``, each line is cut into sentences (``split_sentences``), which are
    translated one by one (all those of a chunk in one call) and joined again on the line.
    ``on_truncate`` is called with the index within its chunk of a line (or with ``split``,
    of a sentence) longer than the model's maximum, which was cut. ``prefixes`` and
    ``constraints`` give, a line per line of ``lines`` (not with ``split``), the target text
    each translation begins with and the phrases it must contain; ``on_impossible`` is
    called with the 0-based number of a line whose phrases cannot fit its output.
    """
    if split and (prefixes is not None or constraints is not None):
        raise ValueError("prefixes and constraints are for whole lines: not with split")
    per_line = zip(  # the CLI reads the files in step (paired_lines); repeat() never ends
        lines,
        itertools.repeat(None) if prefixes is None else prefixes,
        itertools.repeat(None) if constraints is None else constraints,
        strict=False,
    )
    done = 0
    for chunk in chunked(per_line, chunk_lines):
        sources = [source for source, _, _ in chunk]
        if split:
            yield sources, _translate_split(translator, sources, options, on_truncate)
        else:
            first = done
            yield sources, translator.translate_nbest(
                sources, options=options, on_truncate=on_truncate,
                prefixes=None if prefixes is None else [p for _, p, _ in chunk],
                constraints=None if constraints is None else [c for _, _, c in chunk],
                on_impossible=None if on_impossible is None else (
                    lambda index, first=first: on_impossible(first + index)
                ),
            )  # fmt: skip
        done += len(chunk)


def _translate_split(
    translator: Engine,
    lines: list[str],
    options: DecodingOptions,
    on_truncate: Callable[[int], None] | None,
) -> list[list[Candidate]]:
    """Each line cut into sentences, translated, and joined again."""
    splits = [split_sentences(line) for line in lines]
    sentences = [s for line in splits for s in line.sentences]
    results = translator.translate_nbest(sentences, options=options, on_truncate=on_truncate)
    groups = regroup(results, [len(line.sentences) for line in splits])
    return [
        whole_text_candidates(mine, line.join, nbest=options.nbest)
        for line, mine in zip(splits, groups, strict=True)
    ]
