"""The test-set catalog: a name -> source and reference sentences of a language pair, with license.

Entries live in ``conf/testsets/*.yaml`` (one file per language pair); every entry lists one
file per language, so it serves both directions. An entry with ``held_out`` is the dev or test
part (its ``split``) carved out of a training corpus by a hash of each pair, exactly as the
data configs hold it out of training (``seq2seq.data.heldout``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from omegaconf import OmegaConf

from seq2seq.common.errors import DataError
from seq2seq.data.corpus import Corpus
from seq2seq.data.heldout import HeldOut
from seq2seq.evaluation.evaluate import TestData

DEFAULT_ROOT = Path("data/en-fa")  # where recipes/en-fa/run.sh --download puts the data


@dataclass(frozen=True)
class TestSet:
    """One catalog entry.

    Attributes:
        name: what ``seq2seq-eval --testset`` takes, e.g. "tico19-test".
        files: language code -> path relative to the data root.
        split: "dev" or "test".
        source: where the sentences come from.
        license: the data's license.
        held_out: for a part of a training corpus, how many pairs it holds out per split.
    """

    name: str
    files: dict[str, str]
    split: str
    source: str
    license: str
    held_out: HeldOut | None = None

    @property
    def corpus(self) -> Corpus:
        """The entry's pairs as a corpus of the data layer."""
        if self.held_out is None:
            return Corpus(files=self.files)
        return Corpus(files=self.files, held_out=self.held_out, part=self.split)

    def read(self, src_lang: str, tgt_lang: str, *, root: Path) -> TestData:
        """The sentences under ``root`` for the direction src -> tgt.

        Raises:
            DataError: a language the entry lacks, or missing files (with where to get them).
        """
        for lang in (src_lang, tgt_lang):
            if lang not in self.files:
                raise DataError(
                    self.name, f"no {lang!r} side (it has {', '.join(sorted(self.files))})"
                )
        for path in self.corpus.paths(root):
            if not path.is_file():
                raise DataError(
                    path,
                    "file not found: get the data with recipes/en-fa/run.sh --download "
                    "or point --data-root at a copy of the en-fa layout",
                )
        pairs = list(self.corpus.pairs(root, src_lang, tgt_lang))
        where = f" ({self.split} part)" if self.held_out else ""
        return TestData(
            self.name,
            f"{root / self.files[src_lang]}{where}",
            f"{root / self.files[tgt_lang]}{where}",
            [pair.src for pair in pairs],
            [pair.tgt for pair in pairs],
        )


def load_catalog() -> dict[str, TestSet]:
    """Every entry of every ``conf/testsets/*.yaml``, by name."""
    catalog = {}
    folder = files("seq2seq.conf").joinpath("testsets")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            entries = OmegaConf.to_container(OmegaConf.create(entry.read_text(encoding="utf-8")))
            for name, fields in entries.items():
                held_out = fields.pop("held_out", None)
                catalog[name] = TestSet(
                    name=name, held_out=HeldOut(**held_out) if held_out else None, **fields
                )
    return catalog


def read_test_set(name: str, src_lang: str, tgt_lang: str, *, root: Path) -> TestData:
    """The sentences of catalog entry ``name`` for src -> tgt.

    Raises:
        DataError: an unknown name (the known ones are listed), or as ``TestSet.read``.
    """
    catalog = load_catalog()
    if name not in catalog:
        raise DataError(name, f"unknown test set (known: {', '.join(sorted(catalog))})")
    return catalog[name].read(src_lang, tgt_lang, root=root)
