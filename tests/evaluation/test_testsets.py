"""The test-set catalog covers the dev and test sets of the en-fa layout, both directions."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_module

from seq2seq.common.errors import DataError
from seq2seq.data.corpus import DataConfig
from seq2seq.evaluation.testsets import load_catalog, read_test_set
from tests.helpers import shared_en_fa


@pytest.mark.parametrize("direction", [("en", "fa"), ("fa", "en")])
def test_every_entry_reads_aligned_sentences(direction: tuple[str, str]) -> None:
    root = shared_en_fa()
    for name, entry in load_catalog().items():
        data = read_test_set(name, *direction, root=root)
        assert len(data.sources) == len(data.references) > 0, name
        assert entry.split in ("dev", "test") and entry.license and entry.source


def test_every_dev_and_test_file_of_the_layout_is_in_the_catalog() -> None:
    root = shared_en_fa()
    listed = {path for entry in load_catalog().values() for path in entry.files.values()}
    on_disk = {
        str(p.relative_to(root)) for split in ("dev", "test") for p in (root / split).iterdir()
    }
    assert on_disk <= listed


def test_held_out_entries_are_what_training_holds_out() -> None:
    """Each held-out training corpus of the en-fa data config has its dev and test part in the
    catalog, with the same sizes, and the data config tests on the same pairs."""
    root = shared_en_fa()
    with initialize_config_module("seq2seq.conf", version_base="1.3"):
        cfg = compose("train", overrides=[f"data.root={root}"])
    data = DataConfig.from_config(cfg.data)
    catalog = {(e.corpus.describe()): e for e in load_catalog().values() if e.held_out}
    held_out = [part for corpus in data.train for part in corpus.held_out_parts()]
    assert len(held_out) == 4
    assert {part.describe() for part in held_out} == set(catalog)
    for name, corpus in data.test.items():
        if corpus.held_out:
            entry = catalog[corpus.describe()]
            assert entry.name == f"{name}-test" and entry.corpus == corpus
    tech = read_test_set("tech-docs-test", "en", "fa", root=root)
    assert len(tech.sources) == 500 and tech.source.endswith("tech-docs.en (test part)")
    dev = read_test_set("tech-docs-dev", "en", "fa", root=root)
    dev_pairs = set(zip(dev.sources, dev.references, strict=True))
    assert not dev_pairs & set(zip(tech.sources, tech.references, strict=True))


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(DataError, match=r"unknown test set \(known: .*tico19-test"):
        read_test_set("wmt14", "en", "fa", root=Path("."))


def test_missing_files_say_how_to_get_the_data(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"recipes/en-fa/run\.sh --download"):
        read_test_set("tico19-test", "en", "fa", root=tmp_path)


def test_a_language_the_entry_lacks_is_refused() -> None:
    with pytest.raises(DataError, match="no 'de' side"):
        read_test_set("tico19-test", "en", "de", root=Path("."))
