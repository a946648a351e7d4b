"""SentencePiece subword models: training (joint or per side) and a small wrapper to use them.

Every model this project trains has the special ids pad 0, unk 1, bos 2, eos 3. The text is
normalized by ``seq2seq.data.normalize`` beforehand, so SentencePiece's own normalization is
off ("identity") and decoding gives back exactly the normalized text; byte fallback keeps
characters unseen in training round-tripping too instead of turning them into <unk>.
"""

from __future__ import annotations

import copy
import json
import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import sentencepiece as spm

from seq2seq.common.errors import ConfigError, DataError
from seq2seq.common.settings import number, one_of, require, whole
from seq2seq.common.special import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    SPECIAL_IDS,
    SPECIAL_PIECE_NAMES,
    UNK_ID,
)

# Room for the special pieces at least (a vocabulary too small for the data's characters is
# reported by train_sentencepiece); SentencePiece refuses a coverage below 0.98.
SPECIAL_PIECES = whole(max(PAD_ID, UNK_ID, BOS_ID, EOS_ID) + 1)
COVERAGE = number("in [0.98, 1]", lambda coverage: 0.98 <= coverage <= 1)
# SentencePiece's calls on a list of texts start a pool of threads each time, about 150 us,
# where one text takes 2-3 us: below this many texts a loop of single calls is faster, which
# a server answering one sentence per request pays on every request (docs/benchmarks.md).
LIST_CALL_FROM = 256
# A multilingual model's language tokens, M2M-100's ("__en__") and NLLB's (FLORES-200 codes,
# "eng_Latn"): markers, never text (decoding skips them, as transformers' tokenizers do)
FLORES_CODE = re.compile(r"[a-z]{3}_[A-Z][a-z]{3}")
LANGUAGE_TAG = re.compile(rf"__[a-z]{{2,3}}__|{FLORES_CODE.pattern}")


@dataclass(frozen=True)
class TokenizerConfig:
    """How to train the subword model(s).

    Attributes:
        joint: one model for both languages (shared embeddings need it), or one per side.
        model_type: "unigram" (SentencePiece's default) or "bpe".
        vocab_size: target size per model; fewer when the data cannot support that many.
        character_coverage: share of characters covered by single-character pieces (0.98-1).
        max_sentences: cap on the sentences sampled for training (memory stays bounded).
        byte_fallback: unknown characters become UTF-8 byte pieces instead of <unk>.
        split_digits: every digit is a piece of its own, so a number of any length is
            spelled with the same ten pieces and translating it means copying them.
        sampled_copies: subword regularization (Kudo 2018): the training split is written
            this many more times, each time with every sentence segmented by sampling
            (``Tokenizer.sample``); 0 turns it off. Needs the unigram model.
        sampling_alpha: the sampling's smoothing, P(segmentation) ^ alpha (0: uniform).
        sampling_nbest: the sampling draws from this many best segmentations.
    """

    joint: bool = True
    model_type: Literal["unigram", "bpe"] = "unigram"
    vocab_size: int = 8000
    character_coverage: float = 1.0
    max_sentences: int = 2_000_000
    byte_fallback: bool = True
    split_digits: bool = False
    sampled_copies: int = 0
    sampling_alpha: float = 0.1
    sampling_nbest: int = 64

    def __post_init__(self) -> None:
        require("tokenizer.model_type", self.model_type, one_of("unigram", "bpe"))
        require("tokenizer.vocab_size", self.vocab_size, SPECIAL_PIECES)
        require("tokenizer.character_coverage", self.character_coverage, COVERAGE)
        if self.sampled_copies < 0 or self.sampling_nbest < 1 or self.sampling_alpha < 0:
            raise ConfigError(
                "tokenizer: need sampled_copies >= 0, sampling_nbest >= 1, sampling_alpha >= 0"
            )
        if self.sampled_copies and self.model_type != "unigram":
            raise ConfigError("tokenizer: sampled_copies needs model_type unigram")


def train_sentencepiece(
    inputs: Sequence[Path], model_prefix: Path, config: TokenizerConfig, *, seed: int,
    symbols: Sequence[str] = (),
) -> Path:  # fmt: skip
    """Train one model on the lines of ``inputs``; return the path of ``<prefix>.model``.
    ``symbols`` (language tags) become control pieces: ids that no text encodes to and
    decoding skips.

    Raises:
        ConfigError: ``config.vocab_size`` is below what the data's characters need.
    """
    spm.set_random_generator_seed(seed)
    try:
        _train(inputs, model_prefix, config, symbols)
    except RuntimeError as error:
        too_small = re.search(r"smaller than required_chars\. \d+ vs (\d+)", str(error))
        if too_small is None:
            raise
        needed = int(too_small.group(1))
        raise ConfigError(
            f"tokenizer.vocab_size={config.vocab_size} is too small for this data, which needs "
            f"at least {needed} pieces (its characters, the special tokens"
            f"{' and 256 byte pieces' if config.byte_fallback else ''}): set "
            f"tokenizer.vocab_size={needed} or more, or lower tokenizer.character_coverage"
        ) from None
    return model_prefix.with_suffix(".model")


def _train(
    inputs: Sequence[Path], model_prefix: Path, config: TokenizerConfig, symbols: Sequence[str]
) -> None:
    spm.SentencePieceTrainer.train(
        input=[str(path) for path in inputs],
        model_prefix=str(model_prefix),
        model_type=config.model_type,
        vocab_size=config.vocab_size,
        hard_vocab_limit=False,
        character_coverage=config.character_coverage,
        input_sentence_size=config.max_sentences,
        shuffle_input_sentence=True,
        byte_fallback=config.byte_fallback,
        split_digits=config.split_digits,
        normalization_rule_name="identity",
        pad_id=PAD_ID,
        unk_id=UNK_ID,
        bos_id=BOS_ID,
        eos_id=EOS_ID,
        pad_piece="<pad>",
        control_symbols=list(symbols),
        num_threads=2,
        minloglevel=2,
    )


@dataclass(frozen=True)
class TokenizerFiles:
    """One side's tokenizer on disk: a SentencePiece model, and the vocabulary file that
    numbers its pieces (an imported model's; None: the model's own ids)."""

    model: Path
    vocabulary: Path | None = None
    prefix: str | None = None

    def load(self) -> Tokenizer:
        """The tokenizer; with ``prefix`` (a language tag), that piece starts every text."""
        if self.vocabulary is None:
            return Tokenizer(self.model).prefixed(self.prefix)
        return VocabularyTokenizer(self.model, self.vocabulary, prefix=self.prefix)

    def paths(self) -> list[Path]:
        """Every file, the model first."""
        return [self.model] if self.vocabulary is None else [self.model, self.vocabulary]


class Tokenizer:
    """Text <-> subword ids with one SentencePiece model; with a prefix (a multilingual
    model's language tag, one of the model's control symbols), that piece starts every
    encoded text."""

    def __init__(self, model_file: Path | str) -> None:
        self.model_file = Path(model_file)
        self._sp = spm.SentencePieceProcessor(model_file=str(model_file))
        special = [self._sp.pad_id(), self._sp.unk_id(), self._sp.bos_id(), self._sp.eos_id()]
        if special != [PAD_ID, UNK_ID, BOS_ID, EOS_ID]:
            raise ValueError(
                f"{model_file}: special ids pad/unk/bos/eos are {special}, expected 0/1/2/3"
            )
        self._prefix: list[int] = []

    @property
    def vocab_size(self) -> int:
        return self._sp.vocab_size()

    def id_of(self, piece: str) -> int:
        """The id of ``piece``, which the model must hold (DataError otherwise)."""
        found = self._sp.piece_to_id(piece)
        if found == UNK_ID and piece != self._sp.id_to_piece(UNK_ID):
            raise DataError(self.model_file, f"has no piece {piece!r}")
        return found

    def prefixed(self, piece: str | None) -> Tokenizer:
        """This tokenizer (its model shared) with ``piece`` starting every text instead of its
        own prefix; None: no prefix."""
        other = copy.copy(self)
        other._prefix = [] if piece is None else [self.id_of(piece)]
        return other

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Subword ids of each text (its prefix first), without bos/eos."""
        return self._prefixed(_each(self._sp.encode, texts))

    def _prefixed(self, encoded: list[list[int]]) -> list[list[int]]:
        return [self._prefix + ids for ids in encoded] if self._prefix else encoded

    def sample(
        self, texts: list[str], *, copies: int, alpha: float, nbest: int, rng: random.Random
    ) -> list[list[list[int]]]:
        """``copies`` sampled segmentations of each text, as ids (subword regularization).

        Each is drawn from the text's ``nbest`` best segmentations x with probability
        proportional to P(x) ^ alpha, as SentencePiece's own sampling does (Kudo 2018,
        Section 3.1), but with ``rng``: SentencePiece's generator gives other samples in
        every process, whatever its seed.

        Returns:
            one list per copy, holding one id list per text.
        """
        drawn = []
        for candidates in self._sp.nbest_encode_as_proto(texts, nbest_size=nbest):
            best = candidates.nbests[0].score
            weights = [math.exp(alpha * (n.score - best)) for n in candidates.nbests]
            picks = rng.choices(candidates.nbests, weights=weights, k=copies)
            drawn.append([[piece.id for piece in pick.pieces] for pick in picks])
        return [self._prefixed([ids[i] for ids in drawn]) for i in range(copies)]

    def decode(self, ids: list[list[int]]) -> list[str]:
        """Texts from ids; special ids (pad, bos, eos) are skipped."""
        return _each(self._sp.decode, ids)

    def decode_pieces(self, pieces: list[list[str]]) -> list[str]:
        """Texts from subword strings (what CTranslate2 returns), through their ids, so that
        special pieces are skipped as ``decode`` skips them (SentencePiece's own
        ``decode_pieces`` writes a special piece as an unknown one)."""
        return self.decode([self._sp.piece_to_id(p) for p in pieces])

    def pieces(self, ids: list[int]) -> list[str]:
        """The subword strings of ``ids`` (for attention plots and debugging)."""
        return [self._sp.id_to_piece(i) for i in ids]

    def all_pieces(self) -> list[str]:
        """Every subword string of the vocabulary, in id order."""
        return self.pieces(list(range(self.vocab_size)))


def _each(call: Callable[[Any], Any], items: list) -> list:
    """``call(items)``, SentencePiece's call on a list, for ``LIST_CALL_FROM`` items or more;
    otherwise ``call`` on each item (the same results, without the list call's threads)."""
    if len(items) >= LIST_CALL_FROM:
        return call(items)
    return [call(item) for item in items]


class VocabularyTokenizer(Tokenizer):
    """A SentencePiece model that segments, and a vocabulary of its own that numbers the
    pieces: an imported model's (Marian's or M2M-100's vocab.json, reordered to our special
    ids), as transformers' tokenizers use them.

    Pieces missing from the vocabulary are unk; a leading language code (``>>fra<<``) is a
    piece of its own; decoding skips every special id and language tag and joins the pieces
    with the model's ``decode_pieces`` (a piece it does not know is spelled out, "▁" as a
    space). With ``prefix`` (a multilingual model's language tag on the source), that piece
    starts every encoded text.
    """

    def __init__(
        self, model_file: Path | str, vocabulary_file: Path | str, *, prefix: str | None = None
    ) -> None:
        self.model_file, self.vocabulary_file = Path(model_file), Path(vocabulary_file)
        self._sp = spm.SentencePieceProcessor(model_file=str(model_file))
        self._pieces: list[str] = read_vocabulary(self.vocabulary_file)
        self._ids: dict[str, int] = {}
        for index, piece in enumerate(self._pieces):
            self._ids.setdefault(piece, index)
        self._prefix = [] if prefix is None else [self.id_of(prefix)]

    def id_of(self, piece: str) -> int:
        """The id of ``piece``, which the vocabulary must hold (DataError otherwise)."""
        if piece not in self._ids:
            raise DataError(self.vocabulary_file, f"has no piece {piece!r}")
        return self._ids[piece]

    @property
    def vocab_size(self) -> int:
        return len(self._pieces)

    def encode(self, texts: list[str]) -> list[list[int]]:
        return [
            self._prefix + [self._ids.get(piece, UNK_ID) for piece in self._segment(text)]
            for text in texts
        ]

    def _segment(self, text: str) -> list[str]:
        """The pieces of ``text``: its language code, if it starts with one, then
        SentencePiece's."""
        code = re.match(r">>[^<>\s]*<<", text)
        if code is None:
            return self._sp.encode(text, out_type=str)
        return [code.group(), *self._sp.encode(text[code.end() :], out_type=str)]

    def sample(
        self, texts: list[str], *, copies: int, alpha: float, nbest: int, rng: random.Random
    ) -> list[list[list[int]]]:
        raise ConfigError(f"{self.vocabulary_file}: an imported vocabulary samples nothing")

    def decode(self, ids: list[list[int]]) -> list[str]:
        return self.decode_pieces([self.pieces(row) for row in ids])

    def decode_pieces(self, pieces: list[list[str]]) -> list[str]:
        return [self._join([p for p in row if not self._special(p)]) for row in pieces]

    def _special(self, piece: str) -> bool:
        return self._ids.get(piece, SPECIAL_IDS) < SPECIAL_IDS or bool(
            LANGUAGE_TAG.fullmatch(piece)
        )

    def _join(self, pieces: list[str]) -> str:
        return self._sp.decode_pieces(pieces).replace("▁", " ").strip()

    def pieces(self, ids: list[int]) -> list[str]:
        return [self._pieces[i] for i in ids]


def read_vocabulary(path: Path) -> list[str]:
    """A vocabulary file: a JSON list of pieces, in id order, the special ones first.

    Raises:
        DataError: not such a list, or its first pieces are not the special ones.
    """
    try:
        pieces = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(path, f"not a readable vocabulary ({type(error).__name__})") from None
    if not isinstance(pieces, list) or not all(isinstance(p, str) for p in pieces):
        raise DataError(path, "not a JSON list of pieces")
    if pieces[:SPECIAL_IDS] != list(SPECIAL_PIECE_NAMES):
        raise DataError(path, f"must begin with {list(SPECIAL_PIECE_NAMES)}")
    return pieces
