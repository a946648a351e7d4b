"""Shared fixtures: seeded tests, and a small model directory for translation tests."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import yaml
from hypothesis import settings

from seq2seq.data.normalize import NormalizationConfig
from seq2seq.data.tokenizer import Tokenizer, TokenizerConfig, train_sentencepiece
from seq2seq.export.engine import CONVERSIONS_VARIABLE
from seq2seq.model import DecoderOnlyTransformer, Transformer, TransformerConfig
from seq2seq.modeldir.format import (
    LANGUAGE_MODEL,
    ModelDirSpec,
    load_model_dir,
    save_model_dir,
)
from tests.data.corpus import sentence_pairs
from tests.helpers import CACHE_VARIABLE, MAX_POSITIONS, REPO, serve, shared_en_fa

# Property tests keep no example database (no test writes outside its temporary folder) and
# draw the same examples on every run, so that a run's result depends on the code alone.
settings.register_profile("seq2seq", database=None, derandomize=True)
settings.load_profile("seq2seq")


def _files_outside_git(root: Path) -> set[str]:
    """Untracked and ignored paths under ``root`` (ignored folders as one entry)."""
    listed = subprocess.run(
        ["git", "ls-files", "--others", "--directory", "--no-empty-directory"],
        cwd=root, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return set(listed.stdout.splitlines()) - {".pytest_cache/"}


@pytest.fixture(scope="session", autouse=True)
def _nothing_written_into_the_checkout() -> Iterator[None]:
    """Fail the session if a test left a new file in the repository instead of tmp_path."""
    if not (REPO / ".git").exists():
        yield
        return
    before = _files_outside_git(REPO)
    yield
    left = sorted(_files_outside_git(REPO) - before)
    assert not left, f"tests wrote into the checkout: {left}"


@pytest.fixture(scope="session", autouse=True)
def _one_data_cache_per_test_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """``tests.helpers.data_cache()``, for this process and the commands it starts."""
    os.environ[CACHE_VARIABLE] = str(tmp_path_factory.mktemp("data-cache"))
    yield
    del os.environ[CACHE_VARIABLE]


@pytest.fixture(scope="session", autouse=True)
def _conversions_outside_the_model_directories(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[None]:
    """The CTranslate2 engine's conversions in a folder of their own: the model directories
    that the tests share stay as the fixtures made them, whichever test serves them first."""
    os.environ[CONVERSIONS_VARIABLE] = str(tmp_path_factory.mktemp("conversions"))
    yield
    del os.environ[CONVERSIONS_VARIABLE]


@pytest.fixture(autouse=True)
def _seed_everything() -> None:
    random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Random weights with a real tokenizer: translation plumbing, not quality."""
    return _random_model_dir(tmp_path_factory.mktemp("model"), vocab_size=400)


@pytest.fixture(scope="session")
def other_vocabulary_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model of the test model's direction on another SentencePiece model."""
    return _random_model_dir(tmp_path_factory.mktemp("other-vocabulary"), vocab_size=300)


def _random_model_dir(work: Path, *, vocab_size: int) -> Path:
    text = work / "text.txt"
    pairs = sentence_pairs(200, seed=1)
    text.write_text("".join(f"{en}\n{fa}\n" for en, fa in pairs), encoding="utf-8")
    config = TokenizerConfig(vocab_size=vocab_size)
    spm = train_sentencepiece([text], work / "spm", config, seed=1)
    vocab = Tokenizer(spm).vocab_size
    torch.manual_seed(0)
    model = Transformer(
        TransformerConfig(
            src_vocab_size=vocab,
            tgt_vocab_size=vocab,
            d_model=32,
            n_heads=4,
            encoder_layers=1,
            decoder_layers=1,
            ffn_dim=64,
            share_embeddings=True,
            max_positions=MAX_POSITIONS,
        )
    )
    spec = ModelDirSpec(
        src_lang="en", tgt_lang="fa", src_tokenizer=spm, tgt_tokenizer=spm,
        src_normalization=NormalizationConfig(),
        tgt_normalization=NormalizationConfig(persian=True),
    )  # fmt: skip
    return save_model_dir(work / "model", model.eval(), spec, {"made_by": "tests"})


@pytest.fixture(scope="session")
def lm_dir(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A decoder-only language model of the test model's Persian, on its tokenizer."""
    loaded = load_model_dir(model_dir)
    torch.manual_seed(0)
    lm = DecoderOnlyTransformer(replace(loaded.model.cfg, encoder_layers=0, decoder_layers=2))
    spec = replace(loaded.spec, task=LANGUAGE_MODEL)
    return save_model_dir(tmp_path_factory.mktemp("lm") / "model", lm.eval(), spec, {})


@pytest.fixture(scope="session")
def decoder_only_dir(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A decoder-only translation model of the test model's direction and tokenizer."""
    loaded = load_model_dir(model_dir)
    torch.manual_seed(0)
    model = DecoderOnlyTransformer(replace(loaded.model.cfg, encoder_layers=0, decoder_layers=2))
    directory = tmp_path_factory.mktemp("decoder-only") / "model"
    return save_model_dir(directory, model.eval(), loaded.spec, {"made_by": "tests"})


@pytest.fixture(scope="session")
def reverse_model_dir(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test model with its languages swapped: a fa-en direction to serve."""
    reverse = tmp_path_factory.mktemp("reverse") / "model"
    shutil.copytree(model_dir, reverse)
    config = yaml.safe_load((reverse / "config.yaml").read_text(encoding="utf-8"))
    config["src_lang"], config["tgt_lang"] = "fa", "en"
    normalization = config["normalization"]
    normalization["src"], normalization["tgt"] = normalization["tgt"], normalization["src"]
    (reverse / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return reverse


@pytest.fixture
def shared_server() -> Iterator[str]:
    """A local HTTP server standing in for upstream: it serves ../shared (data/en-fa inside)."""
    yield from serve(shared_en_fa().parents[1])


@pytest.fixture
def usual_umask() -> Iterator[int]:
    """Run the test under the common umask 0o022 (files 0o644), restoring the caller's after."""
    previous = os.umask(0o022)
    try:
        yield 0o022
    finally:
        os.umask(previous)
