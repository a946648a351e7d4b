"""Shortlist files: written whole, read back only for the vocabularies they were built for,
one-line errors for anything else; and the target ids a batch keeps."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from seq2seq.common.errors import DataError
from seq2seq.common.special import SPECIAL_IDS
from seq2seq.data.tokenizer import Tokenizer
from seq2seq.modeldir.shortlist import (
    SHORTLIST,
    Shortlist,
    load_shortlist,
    model_shortlist,
    save_shortlist,
)


@pytest.fixture(scope="module")
def tokenizer(model_dir: Path) -> Tokenizer:
    return Tokenizer(model_dir / "spm.model")


@pytest.fixture(scope="module")
def other_tokenizer(other_vocabulary_dir: Path) -> Tokenizer:
    return Tokenizer(other_vocabulary_dir / "spm.model")


def random_shortlist(vocab: int, *, k: int = 6, n: int = 10) -> Shortlist:
    generator = torch.Generator().manual_seed(0)
    lists = torch.randint(SPECIAL_IDS, vocab, (vocab, k), generator=generator)
    lists[:SPECIAL_IDS] = -1
    lists[SPECIAL_IDS : 2 * SPECIAL_IDS, k // 2 :] = -1
    return Shortlist(lists=lists, frequent=torch.randperm(vocab, generator=generator)[:n])


def saved(path: Path, tokenizer: Tokenizer) -> Shortlist:
    shortlist = random_shortlist(tokenizer.vocab_size)
    save_shortlist(path, shortlist, src_tokenizer=tokenizer, tgt_tokenizer=tokenizer)
    return shortlist


def test_a_saved_shortlist_loads_as_it_was(tokenizer: Tokenizer, tmp_path: Path) -> None:
    path = tmp_path / SHORTLIST
    shortlist = saved(path, tokenizer)
    loaded = load_shortlist(path, src_tokenizer=tokenizer, tgt_tokenizer=tokenizer)
    assert torch.equal(loaded.lists, shortlist.lists)
    assert torch.equal(loaded.frequent, shortlist.frequent)
    assert [p.name for p in tmp_path.iterdir()] == [SHORTLIST]  # nothing staged is left
    assert model_shortlist(tmp_path) == path
    assert model_shortlist(tmp_path / "elsewhere") is None


def rewrite(path: Path, *, metadata: dict[str, str] | None = None, **tensors) -> None:
    """The shortlist file at ``path`` with some of its metadata or tensors replaced (a tensor
    given as None is dropped)."""
    with safe_open(str(path), framework="pt") as stream:
        old_metadata = stream.metadata()
        old = {name: stream.get_tensor(name) for name in stream.keys()}  # noqa: SIM118
    new = {name: t for name, t in (old | tensors).items() if t is not None}
    save_file(new, str(path), metadata=old_metadata | (metadata or {}))


def damage(path: Path, tokenizer: Tokenizer, how: str) -> None:
    if how == "missing":
        path.unlink()
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "corrupt":
        path.write_bytes(path.read_bytes()[:-40])
    elif how == "not-safetensors":
        path.write_bytes(b"\x80\x04K\x01." * 20)  # a pickle
    elif how == "no-frequent":
        rewrite(path, frequent=None)
    elif how == "other-pieces":
        rewrite(path, metadata={"tgt_vocab_sha256": "0" * 64})
    elif how == "newer":
        rewrite(path, metadata={"format_version": "2"})
    elif how == "list-out-of-range":
        lists = torch.full((tokenizer.vocab_size, 6), -1)
        lists[7, 0] = tokenizer.vocab_size
        rewrite(path, lists=lists)
    elif how == "frequent-out-of-range":
        rewrite(path, frequent=torch.tensor([5, -1] + [4] * 8))
    elif how == "shape":
        rewrite(path, lists=torch.zeros(3, 6, dtype=torch.long))


@pytest.mark.parametrize(
    ("how", "problem"),
    [
        ("missing", "shortlist not found"),
        ("empty", "empty file: not a shortlist"),
        ("corrupt", "not a valid safetensors file"),
        ("not-safetensors", "not a valid safetensors file"),
        ("no-frequent", "not a shortlist: it lacks frequent"),
        ("other-pieces", r"built for another target vocabulary than .* \(as many pieces, "),
        ("newer", "format version 2 is newer than seq2seq"),
        ("list-out-of-range", "lists holds id VOCAB, out of range for the target vocabulary"),
        ("frequent-out-of-range", "frequent holds id -1, out of range"),
        ("shape", r"lists is torch.int64 \(3, 6\), expected torch.int64 \(VOCAB, 6\)"),
    ],
)
def test_a_bad_file_is_one_error_naming_it(
    tokenizer: Tokenizer, tmp_path: Path, how: str, problem: str
) -> None:
    path = tmp_path / SHORTLIST
    saved(path, tokenizer)
    damage(path, tokenizer, how)
    with pytest.raises(DataError) as error:
        load_shortlist(path, src_tokenizer=tokenizer, tgt_tokenizer=tokenizer)
    assert error.value.path == path and "\n" not in str(error.value)
    assert error.match(f"^{path}: {problem.replace('VOCAB', str(tokenizer.vocab_size))}")


@pytest.mark.parametrize("side", ["source", "target"])
def test_a_shortlist_of_another_vocabulary_is_refused(
    tokenizer: Tokenizer, other_tokenizer: Tokenizer, tmp_path: Path, side: str
) -> None:
    path = tmp_path / SHORTLIST
    saved(path, tokenizer)
    tokenizers = {"src_tokenizer": tokenizer, "tgt_tokenizer": tokenizer}
    tokenizers["src_tokenizer" if side == "source" else "tgt_tokenizer"] = other_tokenizer
    sizes = f"{tokenizer.vocab_size} pieces against {other_tokenizer.vocab_size}"
    expected = f"{path}: built for another {side} vocabulary than {other_tokenizer.model_file} "
    with pytest.raises(DataError, match=f"^{expected}\\({sizes}\\)$"):
        load_shortlist(path, **tokenizers)


def test_kept_is_the_specials_the_frequent_the_lists_and_also() -> None:
    lists = torch.full((12, 3), -1)
    lists[5] = torch.tensor([20, 9, -1])
    lists[6] = torch.tensor([9, 30, 31])
    lists[7] = torch.tensor([40, 41, 42])  # not in the batch
    shortlist = Shortlist(lists=lists, frequent=torch.tensor([11, 4, 20]))
    batch = torch.tensor([[5, 6, 3], [6, 0, 0]])  # eos and padding have no list
    kept = shortlist.kept(batch, also=torch.tensor([[50, 2]]))
    assert kept.tolist() == [0, 1, 2, 3, 4, 9, 11, 20, 30, 31, 50]
    assert shortlist.kept(torch.tensor([7])).tolist() == [0, 1, 2, 3, 4, 11, 20, 40, 41, 42]
