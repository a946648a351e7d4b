"""Preparation: outputs, filter counts, the content-hash cache, and the data module."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from seq2seq.common.errors import ConfigError, DataError
from seq2seq.data.corpus import Corpus
from seq2seq.data.prepare import PreparedData, prepare
from seq2seq.data.tokenizer import TokenizerConfig
from seq2seq.training.datamodule import TranslationDataModule
from tests.data.corpus import data_config, sentence_pairs, write_corpus, write_pairs

TOKENIZER = TokenizerConfig(vocab_size=500)


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "raw")


def run(root: Path, out: Path, **filters: object):
    return prepare(data_config(root, **filters), TOKENIZER, output_root=out, seed=1)


def test_prepare_writes_splits_and_counts_every_filter(root: Path, tmp_path: Path) -> None:
    report = run(root, tmp_path / "out")
    assert not report.cached
    assert report.pairs_read == 310
    assert report.dropped == {
        "empty": 2,
        "identical sides": 1,
        "target not arabic script": 1,
        "duplicate": 5,
    }
    assert {name: s.pairs for name, s in report.splits.items()} == {
        "train": 301,
        "valid": 20,
        "test.t": 30,
    }
    data = PreparedData(report.output_dir)
    assert data.split_names == ["train", "valid", "test.t"]
    train = data.split("train")
    assert train.src.tokens.dtype == np.uint16  # 500 ids do not fit uint8
    tokenizer = data.tokenizer("tgt")
    assert tokenizer.decode([train.tgt[300].tolist()]) == ["کتاب قرمز"]  # normalized kaf
    assert data.raw_path("valid", "ref").read_text(encoding="utf-8").count("\n") == 20


def test_second_run_does_nothing_and_changes_rebuild(root: Path, tmp_path: Path) -> None:
    first = run(root, tmp_path / "out")
    stamp = (first.output_dir / "meta.json").stat().st_mtime_ns
    again = run(root, tmp_path / "out")
    assert again.cached and again.output_dir == first.output_dir
    assert (first.output_dir / "meta.json").stat().st_mtime_ns == stamp

    changed_option = run(root, tmp_path / "out", max_tokens=2)
    assert not changed_option.cached and changed_option.output_dir != first.output_dir
    assert changed_option.dropped["too long"] > 0

    with (root / "test" / "test.fa").open("a", encoding="utf-8") as stream:
        stream.write("سطر تازه\n")
    with (root / "test" / "test.en").open("a", encoding="utf-8") as stream:
        stream.write("new line\n")
    changed_input = run(root, tmp_path / "out")
    assert not changed_input.cached
    assert changed_input.output_dir not in (first.output_dir, changed_option.output_dir)
    assert changed_input.splits["test.t"].pairs == 31


def test_sampled_copies_repeat_the_pairs_in_other_segmentations(root: Path, tmp_path: Path) -> None:
    sampling = replace(TOKENIZER, sampled_copies=2)
    config = data_config(root, max_ratio=100.0)  # sampled segmentations are longer
    first, again = (
        prepare(config, sampling, output_root=tmp_path / out, seed=1) for out in ("one", "two")
    )
    plain = prepare(config, TOKENIZER, output_root=tmp_path / "plain", seed=1)
    assert first.splits["train"].pairs == 3 * plain.splits["train"].pairs == 3 * 301
    assert first.splits["valid"] == plain.splits["valid"]
    data, plain_data = PreparedData(first.output_dir), PreparedData(plain.output_dir)
    tokenizer = data.tokenizer("tgt")
    train, plain_train = data.split("train"), plain_data.split("train")
    for side in ("src", "tgt"):
        usual = [getattr(plain_train, side)[i].tolist() for i in range(301)]
        copies = [
            [getattr(train, side)[copy * 301 + i].tolist() for i in range(301)] for copy in range(3)
        ]
        assert copies[0] == usual
        assert all(tokenizer.decode(copy) == tokenizer.decode(usual) for copy in copies[1:])
        assert copies[1] != usual and copies[2] != copies[1]
    for name in ("train.src.bin", "train.tgt.bin"):  # the same seed samples the same
        assert (first.output_dir / name).read_bytes() == (again.output_dir / name).read_bytes()


def test_an_upsampled_corpus_repeats_its_kept_pairs(root: Path, tmp_path: Path) -> None:
    write_pairs(root / "train", "b", sentence_pairs(7, seed=9))
    config = data_config(root)
    corpora = [config.train[0], Corpus.from_config({"en": "train/b.en", "fa": "train/b.fa"})]
    once = prepare(replace(config, train=corpora), TOKENIZER, output_root=tmp_path / "o", seed=1)
    corpora[1] = replace(corpora[1], upsample=3)
    thrice = prepare(replace(config, train=corpora), TOKENIZER, output_root=tmp_path / "t", seed=1)
    kept = once.splits["train"].pairs - 301  # b's pairs that the filters keep (a keeps 301)
    assert 0 < kept <= 7
    assert thrice.dropped == once.dropped  # the repeats come after the filters
    assert thrice.splits["train"].pairs == once.splits["train"].pairs + 2 * kept
    clean = (thrice.output_dir / "train.clean.src").read_text(encoding="utf-8").splitlines()
    assert clean[-3:] == [clean[-1]] * 3 and clean[-4] != clean[-1]
    with pytest.raises(ConfigError, match="upsample must be a whole number >= 1, got 0"):
        Corpus.from_config({"en": "train/b.en", "fa": "train/b.fa", "upsample": 0})


def test_bad_input_fails_cleanly_and_leaves_nothing_behind(root: Path, tmp_path: Path) -> None:
    (root / "train" / "a.fa").write_bytes(b"\xff\xfe\n")
    with pytest.raises(DataError, match=r"a.fa:1: invalid UTF-8 at byte 0"):
        run(root, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_missing_root_says_how_to_get_data(tmp_path: Path) -> None:
    with pytest.raises(
        DataError, match=r"data root not found: run recipes/en-fa/run\.sh --download data"
    ):
        run(tmp_path / "absent", tmp_path / "out")


def test_data_module_serves_token_batches(root: Path, tmp_path: Path) -> None:
    report = run(root, tmp_path / "out")
    module = TranslationDataModule(report.output_dir, max_tokens=64, max_positions=32, seed=1)
    train = list(module.train_dataloader())
    assert sum(len(batch.indices) for batch in train) == 301
    assert all(batch.src.numel() <= 64 and batch.target.numel() <= 64 for batch in train)
    valid = list(module.val_dataloader())
    assert sorted(i for batch in valid for i in batch.indices.tolist()) == list(range(20))
    assert [len(list(loader)) > 0 for loader in module.test_dataloader()] == [True]
