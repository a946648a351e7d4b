"""Raw parallel text -> normalized, filtered, SentencePiece-encoded, binarized splits (cached).

The output directory is named by a hash of everything that defines it (the content of every
input file, normalization, filters, tokenizer options, seed), so preparing again with nothing
changed finds it and does nothing, and any change builds a new one. It is built in a
temporary directory and renamed into place, so an interrupted run leaves nothing half-done.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from seq2seq.common.atomic import publish_directory
from seq2seq.common.errors import ConfigError, DataError
from seq2seq.data.corpus import Corpus, DataConfig
from seq2seq.data.filters import PairFilter
from seq2seq.data.indexed import IndexedDataset, IndexedWriter, smallest_dtype
from seq2seq.data.normalize import Normalizer
from seq2seq.data.readers import Pair, chunked
from seq2seq.data.tokenizer import (
    Tokenizer,
    TokenizerConfig,
    TokenizerFiles,
    VocabularyTokenizer,
    train_sentencepiece,
)

FORMAT_VERSION = 2  # 2: train.clean.{src,tgt} are kept
CHUNK = 10_000
META = "meta.json"

Progress = Callable[[str, int], None]
"""Called as progress(stage, items_done_since_last_call)."""


@dataclass(frozen=True)
class SplitStats:
    pairs: int
    src_tokens: int
    tgt_tokens: int


@dataclass
class PrepareReport:
    """What ``prepare`` did, for the summary printed at the end."""

    output_dir: Path
    cached: bool
    pairs_read: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    splits: dict[str, SplitStats] = field(default_factory=dict)
    vocab_sizes: dict[str, int] = field(default_factory=dict)
    sampled_copies: int = 0
    seconds: float = 0.0


def _file_digest(path: Path) -> str:
    if not path.is_file():
        raise DataError(path, "file not found")
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _vocabulary_names(src: Tokenizer, tgt: Tokenizer) -> dict:
    """meta.json's ``vocabulary`` section, for tokenizers that a vocabulary file numbers."""
    if not isinstance(src, VocabularyTokenizer):
        return {}
    return {"vocabulary": {"src": src.vocabulary_file.name, "tgt": tgt.vocabulary_file.name}}


def cache_key(
    data: DataConfig,
    tokenizer: TokenizerConfig,
    *,
    seed: int,
    given_tokenizers: tuple[TokenizerFiles, TokenizerFiles] | None = None,
) -> str:
    """Hex digest of everything the prepared data depends on (file contents, not names)."""
    corpora = {"train": data.train, **data.eval_sets()}
    description = {
        "given_tokenizers": [
            [*map(_file_digest, side.paths()), side.prefix] for side in given_tokenizers or ()
        ],
        "version": FORMAT_VERSION,
        "direction": [data.src_lang, data.tgt_lang],
        "both_directions": data.both_directions,
        "normalization": {k: asdict(v) for k, v in data.normalization.items()},
        "filters": asdict(data.filters),
        "tokenizer": asdict(tokenizer),
        "seed": seed,
        "corpora": {
            name: [
                {"corpus": asdict(c), "sha256": [_file_digest(p) for p in c.paths(data.root)]}
                for c in (group if isinstance(group, list) else [group])
            ]
            for name, group in corpora.items()
        },
    }
    return hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()


class _Preparation:
    """One run of ``prepare`` writing into a temporary directory."""

    def __init__(
        self,
        data: DataConfig,
        tokenizer: TokenizerConfig,
        work: Path,
        *,
        seed: int,
        progress: Progress,
        given_tokenizers: tuple[TokenizerFiles, TokenizerFiles] | None,
    ) -> None:
        self.data = data
        self.tokenizer_config = tokenizer
        self.given_tokenizers = given_tokenizers
        self.work = work
        self.seed = seed
        self.rng = random.Random(seed)  # subword sampling
        self.progress = progress
        self.normalize_src = Normalizer(data.normalization[data.src_lang])
        self.normalize_tgt = Normalizer(data.normalization[data.tgt_lang])
        evaluation = self.evaluation_sentences() if data.filters.decontaminate else frozenset()
        self.filter = PairFilter(data.filters, evaluation=evaluation)
        self.report = PrepareReport(
            output_dir=work, cached=False, sampled_copies=tokenizer.sampled_copies
        )

    def evaluation_sentences(self) -> frozenset[str]:
        """Both sides, normalized, of every dev and test set and held-out part."""
        corpora = [*self.data.eval_sets().values()]
        corpora += [part for corpus in self.data.train for part in corpus.held_out_parts()]
        sentences = set()
        for corpus in corpora:
            for pair in self._pairs(corpus):
                sentences.update((self.normalize_src(pair.src), self.normalize_tgt(pair.tgt)))
        return frozenset(sentences)

    def clean_training_text(self) -> tuple[Path, Path]:
        """Normalize and text-filter the training corpora into one text file per side (a pair
        of an upsampled corpus as many times as it says)."""
        src_path, tgt_path = self.work / "train.clean.src", self.work / "train.clean.tgt"
        with (
            src_path.open("w", encoding="utf-8") as src_out,
            tgt_path.open("w", encoding="utf-8") as tgt_out,
        ):
            for corpus in self.data.train:
                for chunk in chunked(self._pairs(corpus), CHUNK):
                    for pair in chunk:
                        src, tgt = self.normalize_src(pair.src), self.normalize_tgt(pair.tgt)
                        if self.filter.keep_text(src, tgt):
                            src_out.write((src + "\n") * corpus.upsample)
                            tgt_out.write((tgt + "\n") * corpus.upsample)
                    self.report.pairs_read += len(chunk)
                    self.progress("reading and cleaning training pairs", len(chunk))
        return src_path, tgt_path

    def nothing_to_train_on(self) -> str:
        """Why the training text is empty: no pairs read, or the filters dropped them all."""
        dropped = ", ".join(f"{reason} {n}" for reason, n in self.filter.dropped.items())
        return (
            f"no training pair is left of the {self.report.pairs_read} read"
            + (f" (dropped: {dropped})" if dropped else "")
            + ": check data.train, data.scripts and data.filters"
        )

    def _pairs(self, corpus: Corpus) -> Iterator[Pair]:
        return corpus.pairs(self.data.root, self.data.src_lang, self.data.tgt_lang)

    def train_tokenizers(self, src_text: Path, tgt_text: Path) -> tuple[Tokenizer, Tokenizer]:
        """Train the joint model (spm.model) or one per side (source.spm, target.spm); or
        copy the given ones."""
        if self.given_tokenizers is not None:
            return self.copy_tokenizers(*self.given_tokenizers)
        self.progress("training SentencePiece", 0)
        cfg = self.tokenizer_config
        if cfg.joint:
            model = train_sentencepiece(
                [src_text, tgt_text], self.work / "spm", cfg, seed=self.seed,
                symbols=list((self.data.tags or {}).values()),
            )  # fmt: skip
            tokenizer = Tokenizer(model)
            self.report.vocab_sizes = {"joint": tokenizer.vocab_size}
            return tokenizer, tokenizer
        sides = []
        for name, text in (("source", src_text), ("target", tgt_text)):
            model = train_sentencepiece([text], self.work / name, cfg, seed=self.seed)
            sides.append(Tokenizer(model.rename(self.work / f"{name}.spm")))
            (self.work / f"{name}.vocab").unlink()
        self.report.vocab_sizes = {"source": sides[0].vocab_size, "target": sides[1].vocab_size}
        return sides[0], sides[1]

    def copy_tokenizers(
        self, src: TokenizerFiles, tgt: TokenizerFiles
    ) -> tuple[Tokenizer, Tokenizer]:
        """Encode with existing tokenizers (a model directory's, for fine-tuning), copied in
        (one copy where both sides read the same files, whatever their prefixes)."""
        joint = src.paths() == tgt.paths()
        names = (("spm.model", "vocabulary.json"),) * 2 if joint else (
            ("source.spm", "source.vocabulary.json"), ("target.spm", "target.vocabulary.json")
        )  # fmt: skip
        sides = []
        for files, (model, vocabulary) in zip((src, tgt), names, strict=True):
            copied = TokenizerFiles(
                Path(shutil.copyfile(files.model, self.work / model)),
                None if files.vocabulary is None
                else Path(shutil.copyfile(files.vocabulary, self.work / vocabulary)),
                files.prefix,
            )  # fmt: skip
            sides.append(copied.load())
        if joint:
            self.report.vocab_sizes = {"joint": sides[0].vocab_size}
        else:
            self.report.vocab_sizes = {"source": sides[0].vocab_size, "target": sides[1].vocab_size}
        return sides[0], sides[1]

    def binarize(
        self,
        split: str,
        parts: Sequence[tuple[Iterable[tuple[str, str]], tuple[Tokenizer, Tokenizer]]],
        *,
        filtered: bool,
        sampled_copies: int = 0,
    ) -> None:
        """Encode (source, target) text pairs and write ``<split>.src`` / ``<split>.tgt``:
        ``parts``, each pairs and the tokenizers that encode them; with ``sampled_copies``,
        each pair is written that many more times, segmented by sampling."""
        src_tok, tgt_tok = parts[0][1]
        src_tokens = tgt_tokens = 0
        with (
            IndexedWriter(
                self.work / f"{split}.src", smallest_dtype(src_tok.vocab_size)
            ) as src_writer,
            IndexedWriter(
                self.work / f"{split}.tgt", smallest_dtype(tgt_tok.vocab_size)
            ) as tgt_writer,
        ):
            for chunk, tokenizers in _chunks(parts):
                for src_ids, tgt_ids in self._segmentations(
                    chunk, tokenizers, sampled_copies=sampled_copies
                ):
                    if filtered:
                        kept = [
                            self.filter.keep_lengths(len(s), len(t))
                            for s, t in zip(src_ids, tgt_ids, strict=True)
                        ]
                        src_ids = list(itertools.compress(src_ids, kept))
                        tgt_ids = list(itertools.compress(tgt_ids, kept))
                    src_writer.add_many(src_ids)
                    tgt_writer.add_many(tgt_ids)
                    src_tokens += sum(map(len, src_ids))
                    tgt_tokens += sum(map(len, tgt_ids))
                self.progress(f"encoding {split}", len(chunk))
        self.report.splits[split] = SplitStats(src_writer.count, src_tokens, tgt_tokens)

    def _segmentations(
        self,
        chunk: list[tuple[str, str]],
        tokenizers: tuple[Tokenizer, Tokenizer],
        *,
        sampled_copies: int,
    ) -> Iterator[tuple[list[list[int]], list[list[int]]]]:
        """(source ids, target ids) of the chunk's pairs: their usual segmentation, then
        ``sampled_copies`` sampled ones."""
        texts = [src for src, _ in chunk], [tgt for _, tgt in chunk]
        yield tokenizers[0].encode(texts[0]), tokenizers[1].encode(texts[1])
        if sampled_copies:
            cfg = self.tokenizer_config
            src_copies, tgt_copies = (
                tokenizer.sample(
                    side,
                    copies=sampled_copies,
                    alpha=cfg.sampling_alpha,
                    nbest=cfg.sampling_nbest,
                    rng=self.rng,
                )
                for tokenizer, side in zip(tokenizers, texts, strict=True)
            )
            yield from zip(src_copies, tgt_copies, strict=True)

    def eval_pairs(self, split: str, corpus: Corpus) -> Iterator[tuple[str, str]]:
        """Normalized pairs of a dev/test set (nothing dropped); the raw text is kept too."""
        with (
            (self.work / f"{split}.raw.src").open("w", encoding="utf-8") as raw_src,
            (self.work / f"{split}.raw.ref").open("w", encoding="utf-8") as raw_ref,
        ):
            for pair in self._pairs(corpus):
                raw_src.write(pair.src + "\n")
                raw_ref.write(pair.tgt + "\n")
                yield self.normalize_src(pair.src), self.normalize_tgt(pair.tgt)

    def run(self) -> dict:
        src_text, tgt_text = self.clean_training_text()
        if not src_text.stat().st_size:
            raise DataError(self.data.root, self.nothing_to_train_on())
        tokenizers = self.train_tokenizers(src_text, tgt_text)
        forward = self.tagged(tokenizers, self.data.src_lang, self.data.tgt_lang)
        parts = [(zip(_read_text(src_text), _read_text(tgt_text), strict=True), forward)]
        if self.data.both_directions:
            backward = self.tagged(tokenizers, self.data.tgt_lang, self.data.src_lang)
            parts.append((zip(_read_text(tgt_text), _read_text(src_text), strict=True), backward))
        self.binarize(
            "train", parts, filtered=True, sampled_copies=self.tokenizer_config.sampled_copies
        )
        for split, corpus in self.data.eval_sets().items():
            self.binarize(split, [(self.eval_pairs(split, corpus), forward)], filtered=False)
        self.report.dropped = dict(self.filter.dropped)
        return self._meta(tokenizers)

    def tagged(
        self, tokenizers: tuple[Tokenizer, Tokenizer], src_lang: str, tgt_lang: str
    ) -> tuple[Tokenizer, Tokenizer]:
        """The tokenizers of ``src_lang`` -> ``tgt_lang`` pairs: with ``both_directions``,
        each side's text starts with its language's tag."""
        tags = self.data.tags
        if tags is None:
            return tokenizers
        return tokenizers[0].prefixed(tags[src_lang]), tokenizers[1].prefixed(tags[tgt_lang])

    def _meta(self, tokenizers: tuple[Tokenizer, Tokenizer]) -> dict:
        src_tok, tgt_tok = tokenizers
        return {
            "format_version": FORMAT_VERSION,
            "src_lang": self.data.src_lang,
            "tgt_lang": self.data.tgt_lang,
            "tokenizer": {"src": src_tok.model_file.name, "tgt": tgt_tok.model_file.name},
            **_vocabulary_names(src_tok, tgt_tok),
            "vocab_size": {"src": src_tok.vocab_size, "tgt": tgt_tok.vocab_size},
            "dtype": {
                "src": str(smallest_dtype(src_tok.vocab_size)),
                "tgt": str(smallest_dtype(tgt_tok.vocab_size)),
            },
            "normalization": {
                "src": asdict(self.data.normalization[self.data.src_lang]),
                "tgt": asdict(self.data.normalization[self.data.tgt_lang]),
            },
            "splits": {name: asdict(stats) for name, stats in self.report.splits.items()},
            "pairs_read": self.report.pairs_read,
            "dropped": self.report.dropped,
        } | ({} if self.data.tags is None else {"tags": self.data.tags})


def _chunks(
    parts: Sequence[tuple[Iterable[tuple[str, str]], tuple[Tokenizer, Tokenizer]]],
) -> Iterator[tuple[list[tuple[str, str]], tuple[Tokenizer, Tokenizer]]]:
    """Each part's pairs in chunks, with the part's tokenizers."""
    for pairs, tokenizers in parts:
        for chunk in chunked(pairs, CHUNK):
            yield chunk, tokenizers


def _read_text(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as stream:
        for line in stream:
            yield line.rstrip("\n")


def prepare(
    data: DataConfig,
    tokenizer: TokenizerConfig,
    *,
    output_root: Path,
    seed: int,
    progress: Progress | None = None,
    given_tokenizers: tuple[TokenizerFiles, TokenizerFiles] | None = None,
) -> PrepareReport:
    """Prepare ``data`` under ``output_root`` unless an up-to-date copy is already there.

    ``given_tokenizers``: (source, target) tokenizers' files to encode with instead of
    training new ones (the same path twice for a joint model).

    Raises:
        DataError: the data root or an input file is missing or invalid, or no training pair
            is left.
        ConfigError: ``both_directions`` with tokenizers given or one per side.
    """
    if data.both_directions and (given_tokenizers is not None or not tokenizer.joint):
        raise ConfigError(
            "data.both_directions trains one tokenizer for both languages, with their tags: "
            "not with init_from, and with tokenizer.joint=true"
        )
    if not data.root.is_dir():
        raise DataError(
            data.root,
            "data root not found: run recipes/en-fa/run.sh --download data to fetch the data, "
            "or point data.root=... at a directory that has it",
        )
    start = time.perf_counter()
    key = cache_key(data, tokenizer, seed=seed, given_tokenizers=given_tokenizers)
    output_dir = output_root / f"{data.src_lang}-{data.tgt_lang}-{key[:16]}"
    if (output_dir / META).is_file():
        return PrepareReport(output_dir=output_dir, cached=True)
    output_root.mkdir(parents=True, exist_ok=True)
    work = output_root / f".tmp-{key[:16]}-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        preparation = _Preparation(
            data,
            tokenizer,
            work,
            seed=seed,
            progress=progress or (lambda *_: None),
            given_tokenizers=given_tokenizers,
        )
        meta = preparation.run()
        (work / META).write_text(
            json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        publish_directory(work, output_dir, complete=lambda path: (path / META).is_file())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = preparation.report
    report.output_dir = output_dir
    report.seconds = time.perf_counter() - start
    return report


@dataclass(frozen=True)
class ParallelSplit:
    """Source and target sequences of one split, memory-mapped."""

    src: IndexedDataset
    tgt: IndexedDataset

    def __len__(self) -> int:
        return len(self.src)

    def pairs(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The (source ids, target ids) of each pair, in order, each (length,) of the files'
        dtype."""
        for index in range(len(self)):
            yield self.src[index], self.tgt[index]


class PreparedData:
    """Read access to a directory written by ``prepare``."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        meta_path = self.directory / META
        if not meta_path.is_file():
            raise DataError(meta_path, "not a prepared data directory (run seq2seq-prepare)")
        self.meta = json.loads(meta_path.read_text(encoding="utf-8"))

    @property
    def split_names(self) -> list[str]:
        return list(self.meta["splits"])

    @property
    def test_split_names(self) -> list[str]:
        """The test sets, "test.<name>", in the order of the data config."""
        return [name for name in self.split_names if name.startswith("test.")]

    def split(self, name: str) -> ParallelSplit:
        if name not in self.meta["splits"]:
            raise KeyError(f"no split {name!r} in {self.directory}; have {self.split_names}")
        return ParallelSplit(
            *(
                IndexedDataset(self.directory / f"{name}.{side}", self.meta["dtype"][side])
                for side in ("src", "tgt")
            )
        )

    def tokenizer(self, side: str) -> Tokenizer:
        """The tokenizer of "src" or "tgt" (the same files when joint)."""
        vocabulary = self.meta.get("vocabulary", {}).get(side)
        return TokenizerFiles(
            self.directory / self.meta["tokenizer"][side],
            None if vocabulary is None else self.directory / vocabulary,
        ).load()

    def clean_path(self, side: str) -> Path:
        """The training pairs' normalized text that passed the text filters, before the length
        filters (which count subword tokens): side "src" or "tgt", a line per pair."""
        return self.directory / f"train.clean.{side}"

    def raw_path(self, split: str, side: str) -> Path:
        """The unnormalized text of a dev/test split: side "src" or "ref"."""
        return self.directory / f"{split}.raw.{side}"
