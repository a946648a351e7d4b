"""The one exception type for bad input data: it names the file and the line."""

from __future__ import annotations

from pathlib import Path


class ConfigError(ValueError):
    """A configuration value that cannot work (printed as one line, without a traceback)."""


class DataError(Exception):
    """A problem in a user's file, printed as ``path:line: problem`` (no traceback).

    Attributes:
        path: the file at fault (or a stream's name, such as "<stdin>").
        line: 1-based line number, or None when the problem concerns the whole file.
        problem: what is wrong, in words.
    """

    def __init__(self, path: Path | str, problem: str, *, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {problem}")
