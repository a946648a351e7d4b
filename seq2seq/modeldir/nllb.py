"""The vocabulary of an NLLB-200 folder: an M2M100ForConditionalGeneration whose tokenizer is
NllbTokenizer.

Its ids are fairseq's dictionary, which tokenizer.json states: <s>, <pad>, </s>, <unk>, then
the pieces of sentencepiece.bpe.model one id further on than SentencePiece numbers them, then
a token per FLORES-200 language ("eng_Latn") and <mask>. A source is the source language's
token, the pieces and eos (transformers' default since 4.32; the older layout, the token after
eos, is refused), and the decoder starts from eos, then reads the target language's token.
"""

from __future__ import annotations

from pathlib import Path

from seq2seq.common.errors import DataError
from seq2seq.data.tokenizer import FLORES_CODE
from seq2seq.modeldir.hf_folder import read_json

NLLB_FILES = ("sentencepiece.bpe.model", "tokenizer.json")


def is_nllb(folder: Path) -> bool:
    """Whether the folder's tokenizer is NLLB's: tokenizer_config.json names it, or there is no
    vocab.json (M2M-100's)."""
    path = folder / "tokenizer_config.json"
    stated = read_json(path) if path.is_file() else {}
    named = str(stated.get("tokenizer_class", "")).startswith("Nllb")
    return named or not (folder / "vocab.json").is_file()


def nllb_vocabulary(folder: Path) -> tuple[dict[str, int], dict[str, str]]:
    """Every piece's id (tokenizer.json's vocabulary and added tokens), and each language's
    token by its FLORES-200 code (the code itself).

    Raises:
        DataError: tokenizer.json without a vocabulary, or a tokenizer_config.json that puts
            the language's token after eos (``legacy_behaviour``).
    """
    settings = folder / "tokenizer_config.json"
    if settings.is_file() and read_json(settings).get("legacy_behaviour"):
        raise DataError(settings, "legacy_behaviour=true (the language token after eos) is "
                                  "not supported: only the token first")  # fmt: skip
    path = folder / "tokenizer.json"
    state = read_json(path)
    vocab, added = state.get("model", {}).get("vocab"), state.get("added_tokens", [])
    if not isinstance(vocab, dict) or not isinstance(added, list):
        raise DataError(path, "has no model.vocab mapping pieces to ids: not NLLB's tokenizer")
    numbered = vocab | {token["content"]: token["id"] for token in added}
    languages = {piece: piece for piece in numbered if FLORES_CODE.fullmatch(piece)}
    return numbered, languages
