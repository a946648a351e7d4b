"""The test-set catalog: a name -> source and reference files of a language pair, with license.

Entries live in ``conf/testsets/*.yaml`` (one file per language pair); every entry lists one
file per language, so it serves both directions.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from omegaconf import OmegaConf

from seq2seq.data.errors import DataError

DEFAULT_ROOT = Path("data/en-fa")  # where recipes/en-fa/prepare.sh puts the data


@dataclass(frozen=True)
class TestSet:
    """One catalog entry.

    Attributes:
        name: what ``seq2seq-eval --testset`` takes, e.g. "tico19-test".
        files: language code -> path relative to the data root.
        split: "dev" or "test".
        source: where the sentences come from.
        license: the data's license.
    """

    name: str
    files: dict[str, str]
    split: str
    source: str
    license: str

    def pair(self, src_lang: str, tgt_lang: str, *, root: Path) -> tuple[Path, Path]:
        """(source file, reference file) under ``root`` for the direction src -> tgt."""
        for lang in (src_lang, tgt_lang):
            if lang not in self.files:
                raise DataError(
                    self.name, f"no {lang!r} side (it has {', '.join(sorted(self.files))})"
                )
        return root / self.files[src_lang], root / self.files[tgt_lang]


def load_catalog() -> dict[str, TestSet]:
    """Every entry of every ``conf/testsets/*.yaml``, by name."""
    catalog = {}
    folder = files("seq2seq.conf").joinpath("testsets")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            entries = OmegaConf.to_container(OmegaConf.create(entry.read_text(encoding="utf-8")))
            for name, fields in entries.items():
                catalog[name] = TestSet(name=name, **fields)
    return catalog


def resolve(name: str, src_lang: str, tgt_lang: str, *, root: Path) -> tuple[Path, Path]:
    """The existing (source, reference) files of test set ``name`` for src -> tgt.

    Raises:
        DataError: an unknown name (the known ones are listed), a missing language side, or
            missing files (with where to get them).
    """
    catalog = load_catalog()
    if name not in catalog:
        raise DataError(name, f"unknown test set (known: {', '.join(sorted(catalog))})")
    src, ref = catalog[name].pair(src_lang, tgt_lang, root=root)
    for path in (src, ref):
        if not path.is_file():
            raise DataError(
                path,
                "file not found: get the data with recipes/en-fa/prepare.sh "
                "or point --data-root at a copy of the en-fa layout",
            )
    return src, ref
