"""Import a Hugging Face MarianMTModel folder (OPUS-MT's models).

MarianMT is our architecture (post-LN, scaled tied embeddings, [sin | cos] sinusoids from
position 0), with swish in OPUS-MT's feed-forward networks and a bias on the logits, so the
weights are renamed, the fused projections joined, and the vocabulary put in our order:

- OPUS-MT numbers eos 0, unk 1, the text's pieces, and padding last; its decoder starts
  from the padding token and its search never outputs padding. Ours keeps pad 0, unk 1,
  bos 2, eos 3 and then the other pieces in Marian's order: our bos is the decoder's start
  (OPUS-MT's padding row), and where that is also the padding, our pad column is a second
  copy of it that the logits' bias (-1e4) leaves out of the softmax, so that every
  log-probability is Marian's. (Our own export starts from its bos: the ids stay ours.)
- The tokenizers stay Marian's SentencePiece models; a vocabulary file in our id order
  numbers their pieces as vocab.json does (``VocabularyTokenizer``): one for both sides, or
  one each with ``separate_vocabs``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seq2seq.common.errors import DataError
from seq2seq.model import Transformer, TransformerConfig
from seq2seq.modeldir.hf_folder import (
    Side,
    load_into,
    read_json,
    read_weights,
    save_imported,
    side_of,
    sizes,
    stack_weights,
)

# config.json values that Marian models may state, and the only one our architecture takes.
MARIAN_FIXED = {
    "normalize_before": False,
    "normalize_embedding": False,
    "add_final_layer_norm": False,
    "static_position_embeddings": True,
    "scale_embedding": True,
    "is_encoder_decoder": True,
}
TOKENIZER_FILES = ("source.spm", "target.spm", "vocab.json")  # and target_vocab.json when separate


def import_marian(
    folder: Path, config: dict[str, Any], output: Path, *, src_lang: str | None,
    tgt_lang: str | None,
) -> Path:  # fmt: skip
    """``import_huggingface`` for a MarianMTModel folder; the languages default to
    tokenizer_config.json's."""
    for name in TOKENIZER_FILES:
        if not (folder / name).is_file():
            raise DataError(folder / name, "file not found: a MarianMTModel folder has it")
    source, target = _sides(folder, config)
    cfg = marian_to_our_config(folder / "config.json", config, vocab=(source.size, target.size))
    model = Transformer(cfg)
    weights, path = read_weights(folder)
    load_into(model, lambda: stack_weights(weights, source.order, target.order, cfg), path)
    return save_imported(
        output, model, folder, kind="marian", languages=_languages(folder, src_lang, tgt_lang),
        tokenizers=(folder / "source.spm", folder / "target.spm"), sides=(source, target),
    )  # fmt: skip


def _sides(folder: Path, config: dict[str, Any]) -> tuple[Side, Side]:
    """The source and target vocabularies: vocab.json for both, or, with tokenizer_config.json's
    ``separate_vocabs``, target_vocab.json for the target."""
    tokenizer_config = folder / "tokenizer_config.json"
    separate = tokenizer_config.is_file() and read_json(tokenizer_config).get("separate_vocabs")
    path = folder / ("target_vocab.json" if separate else "vocab.json")
    numbered = read_json(path)
    size = config.get("decoder_vocab_size") or config["vocab_size"]
    target = side_of(path, numbered, _target_ids(folder / "config.json", config, numbered, size))
    if not separate:
        return target, target
    numbered = read_json(folder / "vocab.json")
    pieces = {name: numbered.get(name) for name in ("<pad>", "<unk>", "</s>")}
    if None in pieces.values():
        raise DataError(folder / "vocab.json", f"needs the pieces {list(pieces)}")
    ids = {"pad": pieces["<pad>"], "unk": pieces["<unk>"], "eos": pieces["</s>"]}
    return side_of(folder / "vocab.json", numbered, ids | {"start": ids["pad"]}), target


def _target_ids(
    path: Path, config: dict[str, Any], vocab: dict[str, int], size: int
) -> dict[str, int]:
    """Marian's ids of what our special ids are on the target side: pad, unk, the decoder's
    start, eos."""
    ids = {"pad": config.get("pad_token_id"), "eos": config.get("eos_token_id", 0)}
    ids["start"] = config.get("decoder_start_token_id", ids["pad"])
    ids["unk"] = vocab.get("<unk>")
    for name, value in ids.items():
        if not isinstance(value, int) or not 0 <= value < size:
            raise DataError(path, f"the {name} token's id {value} is not one of the target "
                                  f"vocabulary's 0..{size - 1}")  # fmt: skip
    return ids


def marian_to_our_config(
    path: Path, config: dict[str, Any], *, vocab: tuple[int, int]
) -> TransformerConfig:
    """Our configuration of a Marian config.json's architecture, for ``vocab`` (source,
    target) of our ids.

    Raises:
        DataError: a value our architecture cannot express, named.
    """
    for key, only in MARIAN_FIXED.items():
        if config.get(key, only) != only:
            raise DataError(path, f"{key}={config[key]} is not supported (only {only})")
    shared = config.get("share_encoder_decoder_embeddings", True) and vocab[0] == vocab[1]
    return TransformerConfig(
        src_vocab_size=vocab[0], tgt_vocab_size=vocab[1], share_embeddings=shared,
        max_positions=config.get("max_position_embeddings", 512), output_bias=True,
        **sizes(path, config, activation="swish"),
    )  # fmt: skip


def _languages(folder: Path, src_lang: str | None, tgt_lang: str | None) -> tuple[str, str]:
    """The languages given, else tokenizer_config.json's source_lang and target_lang."""
    path = folder / "tokenizer_config.json"
    stated = read_json(path) if path.is_file() else {}
    src, tgt = src_lang or stated.get("source_lang"), tgt_lang or stated.get("target_lang")
    if not src or not tgt:
        raise DataError(path, "names no source_lang and target_lang: give --source-lang and "
                              "--target-lang")  # fmt: skip
    return src, tgt
