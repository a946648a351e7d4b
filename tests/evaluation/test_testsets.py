"""The test-set catalog covers the dev and test sets of the en-fa layout, both directions."""

from __future__ import annotations

from pathlib import Path

import pytest

from seq2seq.data.errors import DataError
from seq2seq.data.readers import count_lines
from seq2seq.evaluation.testsets import load_catalog, resolve
from tests.helpers import shared_en_fa


@pytest.mark.parametrize("direction", [("en", "fa"), ("fa", "en")])
def test_every_entry_resolves_to_aligned_files(direction: tuple[str, str]) -> None:
    root = shared_en_fa()
    for name, entry in load_catalog().items():
        source, reference = resolve(name, *direction, root=root)
        assert count_lines(source) == count_lines(reference) > 0, name
        assert entry.split in ("dev", "test") and entry.license and entry.source


def test_every_dev_and_test_file_of_the_layout_is_in_the_catalog() -> None:
    root = shared_en_fa()
    listed = {path for entry in load_catalog().values() for path in entry.files.values()}
    on_disk = {
        str(p.relative_to(root)) for split in ("dev", "test") for p in (root / split).iterdir()
    }
    assert on_disk == listed


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(DataError, match=r"unknown test set \(known: .*tico19-test"):
        resolve("wmt14", "en", "fa", root=Path("."))


def test_missing_files_say_how_to_get_the_data(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"recipes/en-fa/prepare\.sh"):
        resolve("tico19-test", "en", "fa", root=tmp_path)


def test_a_language_the_entry_lacks_is_refused() -> None:
    with pytest.raises(DataError, match="no 'de' side"):
        resolve("tico19-test", "en", "de", root=Path("."))
