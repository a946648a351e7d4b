"""A glossary: source terms and the target terms they must be translated as, found in each
sentence (whole words, ignoring case) to become constraints of its translation."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from seq2seq.common.errors import DataError
from seq2seq.data.readers import read_lines


class Glossary:
    """(source term, target term) pairs, in file order."""

    def __init__(self, entries: list[tuple[str, str]]) -> None:
        self.entries = tuple(entries)
        self._patterns = [
            re.compile(rf"(?<!\w){re.escape(source)}(?!\w)", re.IGNORECASE)
            for source, _ in self.entries
        ]

    @classmethod
    def read(cls, path: Path | str) -> Glossary:
        """A UTF-8 TSV file, a ``source term<TAB>target term`` per line.

        Raises:
            DataError: naming the line that is not two non-empty fields.
        """
        entries = []
        for number, line in enumerate(read_lines(path, allow_tab=True), start=1):
            fields = [field.strip() for field in line.split("\t")]
            if len(fields) != 2 or not all(fields):
                raise DataError(
                    path, "expected 'source term<TAB>target term', two non-empty fields",
                    line=number,
                )  # fmt: skip
            entries.append((fields[0], fields[1]))
        return cls(entries)

    def merged(self, overrides: Mapping[str, str]) -> Glossary:
        """This glossary with ``overrides``' entries (source term -> target term), which replace
        those of the same source term, ignoring case."""
        replaced = {source.casefold() for source in overrides}
        kept = [(s, t) for s, t in self.entries if s.casefold() not in replaced]
        return Glossary([*kept, *overrides.items()])

    def targets(self, sentence: str) -> list[str]:
        """The target terms of the source terms that ``sentence`` contains, each once."""
        found = [
            target
            for pattern, (_, target) in zip(self._patterns, self.entries, strict=True)
            if pattern.search(sentence)
        ]
        return list(dict.fromkeys(found))
