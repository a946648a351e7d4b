"""What a data config names: corpora (per-language files or a TSV) under one root directory."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from seq2seq.common.errors import ConfigError, DataError
from seq2seq.data.filters import FilterConfig
from seq2seq.data.heldout import PARTS, HeldOut, pair_key
from seq2seq.data.normalize import NormalizationConfig
from seq2seq.data.readers import Pair, read_parallel, read_tsv


@dataclass(frozen=True)
class Corpus:
    """One parallel corpus: ``files`` maps a language to its file, or ``tsv`` has columns.

    Paths are relative to the data root. In a config: ``{en: train/x.en, fa: train/x.fa}`` or
    ``{tsv: train/x.tsv, columns: [en, fa]}``; the direction comes from the data config, so
    one corpus serves en->fa and fa->en alike. With ``held_out: {dev: 500, test: 500}`` the
    corpus is one ``part`` (train, dev or test; train by default) of the file's pairs, split
    by a hash of each pair (``seq2seq.data.heldout``). ``upsample: N`` repeats each training
    pair N times (after filtering), so a small in-domain corpus weighs more beside big ones, as
    fairseq's ``--upsample-primary`` does; each repeat gets its own sampled segmentations.
    """

    files: Mapping[str, str] = field(default_factory=dict)
    tsv: str | None = None
    columns: tuple[str, str] = ("src", "tgt")
    held_out: HeldOut | None = None
    part: str = "train"
    upsample: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.upsample, int) or self.upsample < 1:
            raise ConfigError(f"corpus upsample must be a whole number >= 1, got {self.upsample!r}")
        if self.part not in PARTS:
            raise ConfigError(f"corpus part {self.part!r} is not one of {', '.join(PARTS)}")
        if self.part != "train" and self.held_out is None:
            raise ConfigError(f"corpus part {self.part!r} needs held_out: {{dev: N, test: N}}")

    @classmethod
    def from_config(cls, spec: Mapping[str, Any]) -> Corpus:
        spec = dict(spec)
        held_out = spec.pop("held_out", None)
        split = {
            "held_out": HeldOut(**held_out) if held_out is not None else None,
            "part": spec.pop("part", "train"),
            "upsample": spec.pop("upsample", 1),
        }
        if "tsv" in spec:
            columns = tuple(spec.get("columns", ("src", "tgt")))
            return cls(tsv=spec["tsv"], columns=columns, **split)
        return cls(files=spec, **split)

    def paths(self, root: Path) -> list[Path]:
        """Every file this corpus reads."""
        return [root / self.tsv] if self.tsv else [root / name for name in self.files.values()]

    def pairs(self, root: Path, src_lang: str, tgt_lang: str) -> Iterator[Pair]:
        """Stream (source, target) pairs in the requested direction (of ``part`` only)."""
        if self.held_out is None:
            return self._all_pairs(root, src_lang, tgt_lang)
        keys = (
            (pair_key({src_lang: p.src, tgt_lang: p.tgt}), p.line)
            for p in self._all_pairs(root, src_lang, tgt_lang)
        )
        parts = self.held_out.parts(keys)
        return (
            p
            for p in self._all_pairs(root, src_lang, tgt_lang)
            if parts.get(p.line, "train") == self.part
        )

    def _all_pairs(self, root: Path, src_lang: str, tgt_lang: str) -> Iterator[Pair]:
        if self.tsv:
            if set(self.columns) != {src_lang, tgt_lang}:
                raise DataError(
                    root / self.tsv, f"columns {list(self.columns)} are not {src_lang}/{tgt_lang}"
                )
            pairs = read_tsv(root / self.tsv)
            if self.columns[0] == src_lang:
                return pairs
            return (Pair(p.tgt, p.src, p.line) for p in pairs)
        missing = {src_lang, tgt_lang} - set(self.files)
        if missing:
            raise ConfigError(f"corpus {dict(self.files)} has no file for {sorted(missing)}")
        return read_parallel(root / self.files[src_lang], root / self.files[tgt_lang])

    def describe(self) -> str:
        files = self.tsv or " + ".join(self.files.values())
        return f"{files} ({self.part} part)" if self.held_out else files

    def held_out_parts(self) -> list[Corpus]:
        """The dev and test parts held out of this corpus (none without ``held_out``)."""
        if self.held_out is None:
            return []
        return [replace(self, part=part) for part in PARTS if part != "train"]


@dataclass(frozen=True)
class DataConfig:
    """Everything that defines a prepared dataset, built from the Hydra ``data`` group.

    Attributes:
        root: directory the corpus paths are relative to.
        src_lang, tgt_lang: the translation direction, e.g. "en" and "fa".
        train: training corpora, concatenated.
        valid: the development set (validation loss and BLEU during training).
        test: named test sets.
        normalization: per language.
        filters: training-data filters (scripts already resolved to this direction).
        both_directions: also train on every training pair read the other way round, each
            source starting with its language's tag and each target with its own (``tags``):
            one model of both directions, told which by the tags.
    """

    root: Path
    src_lang: str
    tgt_lang: str
    train: list[Corpus]
    valid: Corpus
    test: dict[str, Corpus]
    normalization: dict[str, NormalizationConfig]
    filters: FilterConfig
    both_directions: bool = False

    @property
    def tags(self) -> dict[str, str] | None:
        """Each language's tag (M2M-100's form, "__en__") with ``both_directions``; else None."""
        if not self.both_directions:
            return None
        return {lang: f"__{lang}__" for lang in (self.src_lang, self.tgt_lang)}

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> DataConfig:
        """From the plain (resolved) mapping of a ``conf/data/*.yaml`` file."""
        src, tgt = cfg["src_lang"], cfg["tgt_lang"]
        scripts = cfg.get("scripts", {}) or {}
        return cls(
            root=Path(cfg["root"]),
            src_lang=src,
            tgt_lang=tgt,
            train=[Corpus.from_config(c) for c in cfg["train"]],
            valid=Corpus.from_config(cfg["valid"]),
            test={name: Corpus.from_config(c) for name, c in (cfg.get("test") or {}).items()},
            normalization={
                lang: _normalization(cfg.get("normalization", {}), lang) for lang in (src, tgt)
            },
            filters=FilterConfig(
                **dict(cfg.get("filters", {})),
                src_script=scripts.get(src),
                tgt_script=scripts.get(tgt),
            ),
            both_directions=bool(cfg.get("both_directions", False)),
        )

    def eval_sets(self) -> dict[str, Corpus]:
        """The development set as "valid" and each test set as "test.<name>"."""
        return {"valid": self.valid} | {f"test.{name}": c for name, c in self.test.items()}


def _normalization(normalization: Mapping[str, Any], lang: str) -> NormalizationConfig:
    """``data.normalization.<lang>``.

    Raises:
        ConfigError: naming the setting, for an option NormalizationConfig refuses.
    """
    try:
        return NormalizationConfig(**dict(normalization.get(lang, {})))
    except (TypeError, ValueError) as error:
        raise ConfigError(f"data.normalization.{lang}: {error}") from None
