"""Continue a file of one output line per input line where a killed run left it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from seq2seq.common.errors import DataError

_BLOCK = 1 << 20


def keep_complete_lines(path: Path) -> int:
    """Cut ``path`` after its last line end and return how many whole lines it holds (0 for
    a missing file). A run killed in the middle of a write leaves a torn last line: it goes,
    so that the line is written again whole.

    Raises:
        DataError: ``path`` exists but cannot be read and written (a folder, say).
    """
    if not path.exists():
        return 0
    try:
        with path.open("r+b") as stream:
            lines, kept = 0, 0
            while block := stream.read(_BLOCK):
                if (count := block.count(b"\n")) > 0:
                    lines += count
                    kept = stream.tell() - len(block) + block.rindex(b"\n") + 1
            stream.truncate(kept)
    except OSError as error:
        raise DataError(path, f"cannot be resumed: {error.strerror}") from None
    return lines


def after_done(
    lines: Iterable[str], done: int, *, output: Path, source: Path | str
) -> Iterator[str]:
    """The lines of ``source`` after the first ``done``, which ``output`` already answers.

    Raises:
        DataError: ``source`` has fewer than ``done`` lines, so ``output`` is not its output.
    """
    seen = 0
    for seen, line in enumerate(lines, 1):
        if seen > done:
            yield line
    if seen < done:
        raise DataError(
            output, f"has {done} lines but {source} only {seen}: --resume continues the output "
            "of the same input",
        )  # fmt: skip
