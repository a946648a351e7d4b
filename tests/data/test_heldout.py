"""Dev and test parts held out of a training corpus: exact, stable, and never trained on."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from seq2seq.common.errors import ConfigError
from seq2seq.data.corpus import Corpus, DataConfig
from seq2seq.data.prepare import PreparedData, prepare
from seq2seq.data.tokenizer import TokenizerConfig
from tests.data.corpus import data_config, sentence_pairs, write_corpus, write_pairs

SPEC = {"en": "train/d.en", "fa": "train/d.fa", "held_out": {"dev": 20, "test": 30}}


def parts(root: Path, src: str = "en", tgt: str = "fa") -> dict[str, list[tuple[str, str]]]:
    """Each part's pairs, always as (English, Persian)."""
    result = {}
    for part in ("train", "dev", "test"):
        corpus = Corpus.from_config({**SPEC, "part": part})
        pairs = [(p.src, p.tgt) for p in corpus.pairs(root, src, tgt)]
        result[part] = pairs if src == "en" else [(en, fa) for fa, en in pairs]
    return result


def test_the_parts_split_the_corpus_with_exact_sizes(tmp_path: Path) -> None:
    pairs = sentence_pairs(200, seed=4)
    write_pairs(tmp_path / "train", "d", pairs)
    split = parts(tmp_path)
    assert [len(split[p]) for p in ("train", "dev", "test")] == [150, 20, 30]
    assert sorted(split["train"] + split["dev"] + split["test"]) == sorted(pairs)


def test_the_same_pairs_are_held_out_whatever_the_direction_or_order(tmp_path: Path) -> None:
    pairs = sentence_pairs(200, seed=4)
    write_pairs(tmp_path / "a" / "train", "d", pairs)
    write_pairs(tmp_path / "b" / "train", "d", random.Random(7).sample(pairs, len(pairs)))
    forward = parts(tmp_path / "a")
    assert parts(tmp_path / "a", "fa", "en") == forward
    shuffled = parts(tmp_path / "b")
    assert {p: sorted(shuffled[p]) for p in shuffled} == {p: sorted(forward[p]) for p in forward}


def test_a_held_out_part_needs_sizes_and_a_known_name() -> None:
    with pytest.raises(ConfigError, match="needs held_out"):
        Corpus.from_config({"en": "a.en", "fa": "a.fa", "part": "test"})
    with pytest.raises(ConfigError, match="'valid' is not one of train, dev, test"):
        Corpus.from_config({**SPEC, "part": "valid"})


def test_training_never_sees_a_held_out_sentence(tmp_path: Path) -> None:
    root = write_corpus(tmp_path / "raw")
    domain = [(f"{en} {i}", f"{fa} {i}") for i, (en, fa) in enumerate(sentence_pairs(200, seed=4))]
    write_pairs(root / "train", "d", domain)  # numbered: no pair of it is in another set
    held = parts(root)["dev"] + parts(root)["test"]
    # Another corpus repeats one held-out source with another translation: it goes too.
    write_pairs(root / "train", "b", [(held[0][0], "ترجمه دیگر")])
    base = data_config(root)
    config = DataConfig.from_config(
        {
            "root": str(root), "src_lang": "en", "tgt_lang": "fa",
            "train": [{"en": "train/a.en", "fa": "train/a.fa"}, SPEC,
                      {"en": "train/b.en", "fa": "train/b.fa"}],
            "valid": {"en": "dev/dev.en", "fa": "dev/dev.fa"},
            "test": {"d": {**SPEC, "part": "test"}},
            "normalization": {"en": {}, "fa": {"persian": True, "digits": "persian"}},
        }
    )  # fmt: skip
    report = prepare(config, TokenizerConfig(vocab_size=500), output_root=tmp_path / "out", seed=1)
    data = PreparedData(report.output_dir)
    tokenizer = data.tokenizer("src")
    trained = set(tokenizer.decode([ids.tolist() for ids in data.split("train").src]))
    assert len(trained & {en for en, _ in domain}) == 150
    assert not trained & {en for en, _ in held}
    assert report.dropped["in a dev or test set"] == 1
    assert report.splits["test.d"].pairs == 30
    assert base.filters.decontaminate
