"""Lexical shortlists (Marian's, as Bergamot's students decode with them): for each source
token, the target tokens likely to translate it, so that decoding scores a few hundred target
tokens a step instead of the whole vocabulary."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save
from torch import Tensor

from seq2seq.common.atomic import write_atomically
from seq2seq.common.errors import DataError
from seq2seq.common.special import SPECIAL_IDS
from seq2seq.common.version import __version__
from seq2seq.data.lexical import (
    LexicalTable,
    ParallelIds,
    best_targets,
    most_frequent,
    translation_probabilities,
)
from seq2seq.data.tokenizer import Tokenizer

SHORTLIST = "shortlist.safetensors"  # the name of a model directory's own shortlist
FORMAT_VERSION = 1
_SIDES = {"src": "source", "tgt": "target"}
_METADATA = (
    "format_version", "k", "n",
    "src_vocab_size", "tgt_vocab_size", "src_vocab_sha256", "tgt_vocab_sha256",
)  # fmt: skip


@dataclass(frozen=True)
class Shortlist:
    """Which target tokens a batch of sources may need.

    Attributes:
        lists: (src_vocab, k) long, per source id its k likeliest target ids (by the
            alignment model's p(target | source)), best first; -1 pads a shorter list.
        frequent: (n,) long, the n most frequent target ids of the training data.
    """

    lists: Tensor
    frequent: Tensor

    def kept(self, src_tokens: Tensor, *, also: Tensor | None = None) -> Tensor:
        """The target ids a batch keeps: the special ids, the frequent ones, the lists of
        every source id of ``src_tokens`` (any shape; its special ids, padding and eos, have
        none) and ``also`` (ids a prefix or a constraint needs).

        Returns:
            (kept,) long on ``src_tokens``' device, sorted, without repeats; it begins with
            the special ids ``0 .. SPECIAL_IDS - 1``, so that each of them is its own column.
        """
        device = self.lists.device  # the lists stay where they are; the result moves
        sources = src_tokens.reshape(-1).unique().to(device)
        parts = [
            torch.arange(SPECIAL_IDS, device=device),
            self.frequent,
            self.lists.index_select(0, sources[sources >= SPECIAL_IDS]).view(-1),
        ]
        if also is not None:
            parts.append(also.to(device).view(-1))
        ids = torch.cat(parts).unique()  # sorted
        return ids[ids >= 0].to(src_tokens.device)


def model_shortlist(directory: Path | str) -> Path | None:
    """The model directory's own shortlist file, or None where it has none."""
    path = Path(directory) / SHORTLIST
    return path if path.is_file() else None


def chosen_shortlist(
    model_dir: Path | str, choice: Path | str | bool, *, src_tokenizer: Tokenizer,
    tgt_tokenizer: Tokenizer,
) -> Shortlist | None:  # fmt: skip
    """The shortlist that ``choice`` names for the model directory: a file, True for the
    directory's own (``SHORTLIST``) if it has one, False for none; loaded as ``load_shortlist``
    loads it, for the model's vocabularies."""
    if choice is True:
        choice = model_shortlist(model_dir) or False
    if choice is False:
        return None
    return load_shortlist(choice, src_tokenizer=src_tokenizer, tgt_tokenizer=tgt_tokenizer)


def vocabulary_fingerprint(tokenizer: Tokenizer) -> str:
    """The sha256 of every piece of the vocabulary, in id order, joined by newlines."""
    return hashlib.sha256("\n".join(tokenizer.all_pieces()).encode("utf-8")).hexdigest()


def save_shortlist(
    path: Path | str, shortlist: Shortlist, *, src_tokenizer: Tokenizer, tgt_tokenizer: Tokenizer
) -> None:
    """Write ``shortlist`` as safetensors (``lists``, ``frequent``), with the fingerprints of
    the vocabularies it was built for, so that it is never used with others; the file is
    replaced whole (``write_atomically``).

    Raises:
        ValueError: ``lists`` has not a row per id of ``src_tokenizer``.
    """
    if shortlist.lists.shape[0] != src_tokenizer.vocab_size:
        raise ValueError(f"{shortlist.lists.shape[0]} lists for a source vocabulary of "
                         f"{src_tokenizer.vocab_size}")  # fmt: skip
    tensors = {"lists": shortlist.lists.long().contiguous(), "frequent": shortlist.frequent.long()}
    metadata = {
        "format_version": str(FORMAT_VERSION),
        "k": str(shortlist.lists.shape[1]),
        "n": str(shortlist.frequent.numel()),
        "src_vocab_size": str(src_tokenizer.vocab_size),
        "tgt_vocab_size": str(tgt_tokenizer.vocab_size),
        "src_vocab_sha256": vocabulary_fingerprint(src_tokenizer),
        "tgt_vocab_sha256": vocabulary_fingerprint(tgt_tokenizer),
    }
    data = save(tensors, metadata=metadata)
    write_atomically(Path(path), lambda stream: stream.write(data))


def load_shortlist(
    path: Path | str, *, src_tokenizer: Tokenizer, tgt_tokenizer: Tokenizer
) -> Shortlist:
    """Read what ``save_shortlist`` wrote, for the vocabularies of ``src_tokenizer`` and
    ``tgt_tokenizer``.

    Raises:
        DataError: one line naming ``path``: a missing or empty file, one that is not
            safetensors or not a shortlist (tensors or metadata missing), of a newer format,
            built for another source or target vocabulary, or holding ids out of range.
    """
    path = Path(path)
    tensors, metadata = _read(path)
    for side, tokenizer in (("src", src_tokenizer), ("tgt", tgt_tokenizer)):
        _check_vocabulary(path, metadata, side, tokenizer)
    lists, frequent = tensors["lists"], tensors["frequent"]
    k, n = _number(path, metadata, "k"), _number(path, metadata, "n")
    _check_shape(path, "lists", lists, (src_tokenizer.vocab_size, k))
    _check_shape(path, "frequent", frequent, (n,))
    for name, ids, lowest in (("lists", lists, -1), ("frequent", frequent, 0)):
        outside = ids[(ids < lowest) | (ids >= tgt_tokenizer.vocab_size)]
        if len(outside):
            raise DataError(path, f"{name} holds id {int(outside[0])}, out of range for the "
                                  f"target vocabulary of {tgt_tokenizer.vocab_size}")  # fmt: skip
    return Shortlist(lists=lists, frequent=frequent)


def _read(path: Path) -> tuple[dict[str, Tensor], dict[str, str]]:
    """The tensors and the metadata of a shortlist file, each one present."""
    if not path.is_file():
        raise DataError(path, "shortlist not found" if not path.exists() else "not a file")
    if path.stat().st_size == 0:
        raise DataError(path, "empty file: not a shortlist")
    try:
        with safe_open(str(path), framework="pt") as stream:
            metadata = stream.metadata() or {}
            # safe_open is not iterable: keys() is its only listing
            tensors = {name: stream.get_tensor(name) for name in stream.keys()}  # noqa: SIM118
    except SafetensorError as error:
        raise DataError(path, f"not a valid safetensors file ({error})") from None
    missing = [name for name in ("lists", "frequent") if name not in tensors]
    missing += [key for key in _METADATA if key not in metadata]
    if missing:
        raise DataError(path, f"not a shortlist: it lacks {', '.join(missing)}")
    version = _number(path, metadata, "format_version")
    if version > FORMAT_VERSION:
        raise DataError(path, f"format version {version} is newer than seq2seq {__version__} "
                              f"reads ({FORMAT_VERSION}): upgrade seq2seq")  # fmt: skip
    return tensors, metadata


def _number(path: Path, metadata: dict[str, str], key: str) -> int:
    try:
        return int(metadata[key])
    except ValueError:
        raise DataError(path, f"metadata {key} is not a number: {metadata[key]!r}") from None


def _check_vocabulary(
    path: Path, metadata: dict[str, str], side: str, tokenizer: Tokenizer
) -> None:
    """A DataError unless the shortlist was built for ``tokenizer``'s vocabulary."""
    size = _number(path, metadata, f"{side}_vocab_size")
    about = f"built for another {_SIDES[side]} vocabulary than {tokenizer.model_file}"
    if size != tokenizer.vocab_size:
        raise DataError(path, f"{about} ({size} pieces against {tokenizer.vocab_size})")
    if metadata[f"{side}_vocab_sha256"] != vocabulary_fingerprint(tokenizer):
        raise DataError(path, f"{about} (as many pieces, {size}, but other ones)")


def _check_shape(path: Path, name: str, tensor: Tensor, shape: tuple[int, ...]) -> None:
    if tensor.dtype != torch.int64 or tuple(tensor.shape) != shape:
        raise DataError(path, f"{name} is {tensor.dtype} {tuple(tensor.shape)}, expected "
                              f"torch.int64 {shape}")  # fmt: skip


def build_shortlist(
    corpus: ParallelIds,
    *,
    src_vocab: int,
    tgt_vocab: int,
    k: int = 25,
    frequent: int = 100,
    iterations: int = 5,
) -> Shortlist:
    """The lexical shortlist of a parallel corpus (``shortlist_of`` its IBM Model 1 table
    after ``iterations`` EM steps). Special ids count on neither side. Deterministic.

    Raises:
        ValueError: ``iterations`` below 1.
    """
    table = translation_probabilities(corpus, tgt_vocab=tgt_vocab, iterations=iterations)
    return shortlist_of(table, corpus, src_vocab=src_vocab, tgt_vocab=tgt_vocab, k=k,
                        frequent=frequent)  # fmt: skip


def shortlist_of(
    table: LexicalTable,
    corpus: ParallelIds,
    *,
    src_vocab: int,
    tgt_vocab: int,
    k: int,
    frequent: int,
) -> Shortlist:
    """Per source id the ``k`` target ids of highest p(target | source) in ``table``
    (``best_targets``), and the ``frequent`` target ids most frequent in ``corpus``."""
    return Shortlist(
        lists=best_targets(table, src_vocab=src_vocab, k=k),
        frequent=most_frequent(corpus.tgt, frequent, vocab=tgt_vocab),
    )
