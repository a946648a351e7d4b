"""Score systems on test sets: translations by model directories or existing output files.

One ``TestSetReport`` per test set holds every system's BLEU, chrF and TER, the paired
bootstrap p-values against the first system, and decoding time for the systems that decoded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from seq2seq.common.errors import DataError
from seq2seq.data.readers import read_lines
from seq2seq.evaluation.metrics import SystemScores, score_systems
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.translator import Translator

Translate = Callable[[list[str]], list[str]]


@dataclass(frozen=True)
class System:
    """A model to run (``translate``) or an existing output file (``hypotheses``)."""

    name: str
    translate: Translate | None = None
    hypotheses: Path | None = None


def model_system(translator: Translator, *, name: str, options: DecodingOptions) -> System:
    """A System that translates with ``translator`` as ``options`` say."""

    def translate(sentences: list[str]) -> list[str]:
        return translator.translate(sentences, options=options)

    return System(name, translate=translate)


@dataclass(frozen=True)
class SystemReport:
    name: str
    scores: SystemScores
    sentences: int
    seconds: float | None  # decoding time; None for an output file

    @property
    def sentences_per_second(self) -> float | None:
        return None if self.seconds is None else self.sentences / self.seconds


@dataclass(frozen=True)
class TestSetReport:
    name: str
    direction: str | None  # e.g. "en-fa"; None for output files of unknown direction
    source: str
    reference: str
    sentences: int
    systems: list[SystemReport]
    signatures: dict[str, str]

    def to_dict(self) -> dict:
        systems = [
            {**asdict(s.scores), "name": s.name, "seconds": s.seconds,
             "sentences_per_second": s.sentences_per_second}
            for s in self.systems
        ]  # fmt: skip
        return {
            "testset": self.name, "direction": self.direction, "source": self.source,
            "reference": self.reference, "sentences": self.sentences, "systems": systems,
            "signatures": self.signatures,
        }  # fmt: skip


@dataclass(frozen=True)
class TestData:
    """The sentences of one test set, and where they were read from (for reports)."""

    name: str
    source: str
    reference: str
    sources: list[str]
    references: list[str]


def read_source_and_references(
    name: str, source: Path, reference: Path, *, errors: str = "strict"
) -> TestData:
    """Both files, which must have the same number of lines (DataError otherwise)."""
    sources = list(read_lines(source, errors=errors))
    references = list(read_lines(reference, errors=errors))
    if len(sources) != len(references):
        raise DataError(
            reference, f"{len(references)} lines but the source {source} has {len(sources)}"
        )
    return TestData(name, str(source), str(reference), sources, references)


def read_hypotheses(path: Path, *, reference: str, lines: int, errors: str = "strict") -> list[str]:
    """A system output file: one line per reference line, not all of them empty."""
    hypotheses = list(read_lines(path, errors=errors))
    if not any(line.strip() for line in hypotheses):
        raise DataError(path, "empty system output (no line holds any text)")
    if len(hypotheses) != lines:
        raise DataError(path, f"{len(hypotheses)} lines but the reference {reference} has {lines}")
    return hypotheses


def evaluate(
    systems: list[System], data: TestData, *, direction: str | None, errors: str = "strict"
) -> TestSetReport:
    """Translate or read each system's output for one test set and score them all.

    ``errors``: how system output files are read: "strict" (invalid UTF-8 is a DataError
    naming the line) or "replace".
    """
    references = data.references
    outputs, seconds = [], []
    for system in systems:
        if system.translate is not None:
            start = time.perf_counter()
            outputs.append(system.translate(data.sources))
            seconds.append(time.perf_counter() - start)
        else:
            outputs.append(
                read_hypotheses(
                    system.hypotheses,
                    reference=data.reference,
                    lines=len(references),
                    errors=errors,
                )
            )
            seconds.append(None)
    scores, signatures = score_systems(outputs, references)
    reports = [
        SystemReport(s.name, score, len(references), elapsed)
        for s, score, elapsed in zip(systems, scores, seconds, strict=True)
    ]
    return TestSetReport(
        data.name, direction, data.source, data.reference, len(references), reports, signatures
    )
