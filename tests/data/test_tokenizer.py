"""SentencePiece: fixed special ids, round-trip of normalized text, joint and separate."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seq2seq.common.errors import ConfigError
from seq2seq.data.normalize import NormalizationConfig, Normalizer
from seq2seq.data.tokenizer import (
    LIST_CALL_FROM,
    Tokenizer,
    TokenizerConfig,
    train_sentencepiece,
)

ENGLISH = ["the red book is on the table", "three small cats sleep", "where is the station"]
PERSIAN = ["کتاب قرمز روی میز است", "سه گربه کوچک می‌خوابند", "ایستگاه کجاست"]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Tokenizer:
    directory = tmp_path_factory.mktemp("spm")
    text = directory / "train.txt"
    text.write_text("\n".join((ENGLISH + PERSIAN) * 20) + "\n", encoding="utf-8")
    config = TokenizerConfig(vocab_size=400, byte_fallback=True)
    return Tokenizer(train_sentencepiece([text], directory / "spm", config, seed=1))


def test_special_ids_are_pad_unk_bos_eos(tokenizer: Tokenizer) -> None:
    assert tokenizer.pieces([0, 1, 2, 3]) == ["<pad>", "<unk>", "<s>", "</s>"]


def test_round_trip_of_training_text(tokenizer: Tokenizer) -> None:
    texts = ENGLISH + PERSIAN
    assert tokenizer.decode(tokenizer.encode(texts)) == texts


def test_lists_of_any_size_encode_and_decode_as_each_text_alone(tokenizer: Tokenizer) -> None:
    """Short lists go text by text, long ones through SentencePiece's list call: one result."""
    texts = ["", *ENGLISH, *PERSIAN] * (LIST_CALL_FROM // 7 + 1)
    assert len(texts) >= LIST_CALL_FROM
    alone = [tokenizer.encode([text])[0] for text in texts]
    assert tokenizer.encode(texts) == alone
    assert tokenizer.decode(alone) == [tokenizer.decode([ids])[0] for ids in alone] == texts


def test_special_ids_are_dropped_when_decoding(tokenizer: Tokenizer) -> None:
    ids = tokenizer.encode(["three small cats"])[0]
    assert tokenizer.decode([[2, *ids, 3, 0, 0]]) == ["three small cats"]


@pytest.mark.parametrize("split_digits", [False, True])
def test_split_digits_spells_numbers_one_digit_a_piece(tmp_path: Path, split_digits) -> None:
    text = tmp_path / "train.txt"
    text.write_text("\n".join(["in 2019 and 2020", "page 1984", *ENGLISH] * 20) + "\n")
    config = TokenizerConfig(vocab_size=300, split_digits=split_digits)
    tokenizer = Tokenizer(train_sentencepiece([text], tmp_path / "spm", config, seed=1))
    pieces = tokenizer.pieces(tokenizer.encode(["in 2019"])[0])
    assert ("9" in pieces and "1" in pieces) == split_digits
    assert tokenizer.decode(tokenizer.encode(["in 2019 and 31415"])) == ["in 2019 and 31415"]


NORMALIZE = Normalizer(NormalizationConfig(persian=True))


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30))
def test_unseen_characters_round_trip_through_byte_fallback(tokenizer: Tokenizer, text) -> None:
    normalized = NORMALIZE(text)
    assert tokenizer.decode(tokenizer.encode([normalized])) == [normalized]


def test_separate_models_have_their_own_vocabularies(tmp_path: Path) -> None:
    config = TokenizerConfig(vocab_size=300, joint=False)
    models = []
    for name, lines in (("source", ENGLISH), ("target", PERSIAN)):
        path = tmp_path / f"{name}.txt"
        path.write_text("\n".join(lines * 20) + "\n", encoding="utf-8")
        models.append(Tokenizer(train_sentencepiece([path], tmp_path / name, config, seed=1)))
    assert models[0].pieces(models[0].encode(["cats"])[0]) != models[1].pieces(
        models[1].encode(["cats"])[0]
    )
    assert models[1].decode(models[1].encode(PERSIAN)) == PERSIAN


SAMPLE = """
import random, sys
from seq2seq.data.tokenizer import Tokenizer
tokenizer = Tokenizer(sys.argv[1])
print(tokenizer.sample(sys.argv[2:], copies=4, alpha=0.1, nbest=16, rng=random.Random(5)))
"""


def test_sampled_segmentations_spell_the_same_text_and_repeat_per_seed(
    tokenizer: Tokenizer,
) -> None:
    texts = ENGLISH + PERSIAN
    copies = tokenizer.sample(texts, copies=4, alpha=0.1, nbest=16, rng=random.Random(5))
    assert len(copies) == 4
    assert all(tokenizer.decode(copy) == texts for copy in copies)
    assert any(copy != tokenizer.encode(texts) for copy in copies)
    # Another process, same seed: the same samples (SentencePiece's own sampler differs).
    runs = [
        subprocess.run(
            [sys.executable, "-c", SAMPLE, str(tokenizer.model_file), *texts],
            capture_output=True, text=True, check=True,
        ).stdout
        for _ in range(2)
    ]  # fmt: skip
    assert runs[0] == runs[1] == f"{copies}\n"


def test_a_large_alpha_samples_the_best_segmentation(tokenizer: Tokenizer) -> None:
    texts = ENGLISH + PERSIAN
    copies = tokenizer.sample(texts, copies=3, alpha=200.0, nbest=16, rng=random.Random(0))
    assert copies == [tokenizer.encode(texts)] * 3


def test_sampling_needs_the_unigram_model() -> None:
    with pytest.raises(ValueError, match="sampled_copies needs model_type unigram"):
        TokenizerConfig(model_type="bpe", sampled_copies=2)


@pytest.mark.parametrize("byte_fallback", [True, False])
def test_a_vocabulary_too_small_for_the_data_is_one_line_saying_what_to_set(
    tmp_path: Path, byte_fallback: bool
) -> None:
    text = tmp_path / "text.txt"
    text.write_text("".join(f"the red book {i}. کتاب قرمز\n" for i in range(50)), "utf-8")
    config = TokenizerConfig(vocab_size=20, byte_fallback=byte_fallback)
    with pytest.raises(ConfigError) as error:
        train_sentencepiece([text], tmp_path / "spm", config, seed=1)
    needed = re.search(r"needs at least (\d+) pieces", str(error.value)).group(1)
    assert str(error.value) == (
        f"tokenizer.vocab_size=20 is too small for this data, which needs at least {needed} "
        f"pieces (its characters, the special tokens{' and 256 byte pieces' * byte_fallback}): "
        f"set tokenizer.vocab_size={needed} or more, or lower tokenizer.character_coverage"
    )
    bigger = TokenizerConfig(vocab_size=int(needed), byte_fallback=byte_fallback)
    assert train_sentencepiece([text], tmp_path / "spm", bigger, seed=1).is_file()
