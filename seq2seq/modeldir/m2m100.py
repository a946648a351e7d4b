"""Import a Hugging Face M2M100ForConditionalGeneration folder: M2M-100, or NLLB-200 (its
tokenizer NllbTokenizer, ``nllb.py``).

Both are pre-LN with final layer norms and scaled embeddings, which our options express, with
fairseq's sinusoidal positions (frequencies spaced by log(10000) / (d/2 - 1), numbered from
padding + 1), which become our learned position table. M2M-100's vocabulary is vocab.json's,
then a token per language (``__en__``) and fairseq's filler words. The decoder starts from eos
and then the target language's token, which transformers forces. The imported directory knows
every language's token (config.yaml's ``tags``) and translates the direction given at import
unless told another: its source tokenizer starts every text with the source language's token,
and its decoder reads the target language's after bos, so the tag is neither scored nor output.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from seq2seq.common.errors import DataError
from seq2seq.common.languages import resolve
from seq2seq.model import Transformer, TransformerConfig
from seq2seq.modeldir.hf_folder import (
    load_into,
    read_json,
    read_weights,
    save_imported,
    side_of,
    sizes,
    stack_weights,
)
from seq2seq.modeldir.nllb import NLLB_FILES, is_nllb, nllb_vocabulary

# config.json values that M2M-100 models may state, and the only one our architecture takes.
M2M100_FIXED = {"scale_embedding": True, "is_encoder_decoder": True}
M2M100_FILES = ("sentencepiece.bpe.model", "vocab.json")
# The language sets a tokenizer_config.json names ("language_codes"), each language's token
# numbered after vocab.json in this order (fairseq's dictionaries of M2M-100 and WMT21).
_M2M100_CODES = (
    "af am ar ast az ba be bg bn br bs ca ceb cs cy da de el en es et fa ff fi fr fy ga gd gl gu "
    "ha he hi hr ht hu hy id ig ilo is it ja jv ka kk km kn ko lb lg ln lo lt lv mg mk ml mn mr "
    "ms my ne nl no ns oc or pa pl ps pt ro ru sd si sk sl so sq sr ss su sv sw ta th tl tn tr uk "
    "ur uz vi wo xh yi yo zh zu"
)
M2M100_LANGUAGES = {"m2m100": _M2M100_CODES.split(), "wmt21": "en ha is ja cs ru zh de".split()}  # noqa: SIM905


def import_m2m100(
    folder: Path, config: dict[str, Any], output: Path, *, src_lang: str | None,
    tgt_lang: str | None,
) -> Path:  # fmt: skip
    """``import_huggingface`` for an M2M100ForConditionalGeneration folder, translating
    ``src_lang`` -> ``tgt_lang`` unless told another direction (codes as the model has them,
    "en" or "eng_Latn", or their aliases)."""
    path = folder / "config.json"
    nllb = is_nllb(folder)
    for name in NLLB_FILES if nllb else M2M100_FILES:
        if not (folder / name).is_file():
            raise DataError(folder / name, "file not found: an M2M-100 or NLLB folder has it")
    if not src_lang or not tgt_lang:
        raise DataError(path, "a multilingual model: give --source-lang and --target-lang")
    numbered, tags = nllb_vocabulary(folder) if nllb else _m2m100_vocabulary(folder)
    vocabulary = folder / ("tokenizer.json" if nllb else "vocab.json")
    listing = vocabulary if nllb else folder / "tokenizer_config.json"
    languages = _direction(listing, tags, src_lang, tgt_lang)
    ids = {"pad": config.get("pad_token_id", 1), "unk": numbered["<unk>"],
           "start": config.get("decoder_start_token_id", 2),
           "eos": config.get("eos_token_id", 2)}  # fmt: skip
    side = side_of(vocabulary, with_fillers(numbered, config["vocab_size"]), ids)
    cfg = _m2m100_config(path, config, vocab=side.size)
    model = Transformer(cfg)
    weights, weights_path = read_weights(folder)

    def ours() -> dict[str, Tensor]:
        state = stack_weights(weights, side.order, side.order, cfg)
        return state | _m2m100_extras(weights, cfg, padding=ids["pad"])

    load_into(model, ours, weights_path)
    spm_model = folder / "sentencepiece.bpe.model"
    return save_imported(
        output, model, folder, kind="nllb" if nllb else "m2m_100", languages=languages,
        tokenizers=(spm_model, spm_model), sides=(side, side), tags=tags,
    )  # fmt: skip


def _direction(path: Path, tags: dict[str, str], src: str, tgt: str) -> tuple[str, str]:
    """The model's codes of ``src`` and ``tgt``; ``path``: what lists its languages.

    Raises:
        DataError: a language the model lacks, naming those it has.
    """
    codes = resolve(src, tags), resolve(tgt, tags)
    for given, code in zip((src, tgt), codes, strict=True):
        if code is None:
            raise DataError(path, f"no language {given!r}; the model has {sorted(tags)}")
    return codes


def _m2m100_vocabulary(folder: Path) -> tuple[dict[str, int], dict[str, str]]:
    """vocab.json's ids, then the language tokens of tokenizer_config.json's
    ``language_codes`` set in its order; and each language's token by its code."""
    numbered = dict(read_json(folder / "vocab.json"))
    path = folder / "tokenizer_config.json"
    stated = read_json(path) if path.is_file() else {}
    languages = M2M100_LANGUAGES.get(stated.get("language_codes", "m2m100"))
    if languages is None:
        raise DataError(path, f"language_codes {stated['language_codes']!r} is not one of "
                              f"{sorted(M2M100_LANGUAGES)}")  # fmt: skip
    tags = {code: f"__{code}__" for code in languages}
    numbered |= {tags[code]: len(numbered) + i for i, code in enumerate(languages)}
    return numbered, tags


def with_fillers(numbered: dict[str, int], size: int) -> dict[str, int]:
    """``numbered`` and fairseq's filler words (``madeupword000123``) for the ids up to
    ``size`` that it lacks (M2M-100 and NLLB round their embeddings up to a multiple of 8)."""
    taken = set(numbered.values())
    fillers = {f"madeupword{i:06d}": i for i in range(size) if i not in taken}
    return numbered | fillers


def _m2m100_config(path: Path, config: dict[str, Any], *, vocab: int) -> TransformerConfig:
    """Our configuration of an M2M-100 config.json (DataError naming what does not fit)."""
    for key, only in M2M100_FIXED.items():
        if config.get(key, only) != only:
            raise DataError(path, f"{key}={config[key]} is not supported (only {only})")
    return TransformerConfig(
        src_vocab_size=vocab, tgt_vocab_size=vocab, share_embeddings=True, pre_norm=True,
        learned_positions=True, max_positions=config.get("max_position_embeddings", 1024),
        output_bias=True, **sizes(path, config, activation="relu"),
    )  # fmt: skip


def _m2m100_extras(
    theirs: dict[str, Tensor], cfg: TransformerConfig, *, padding: int
) -> dict[str, Tensor]:
    """The final layer norms, and the positions: fairseq's sinusoids as our learned table."""
    table = fairseq_sinusoids(cfg.max_positions, cfg.d_model, padding=padding)
    ours = {}
    for side in ("encoder", "decoder"):
        ours[f"{side}.embed.positions.table"] = table
        for kind in ("weight", "bias"):
            ours[f"{side}.final_norm.{kind}"] = theirs[f"model.{side}.layer_norm.{kind}"]
    return ours


def fairseq_sinusoids(count: int, d_model: int, *, padding: int) -> Tensor:
    """(count, d_model): fairseq's sinusoidal positions (M2M-100's) of our positions 0 ..
    count - 1, which fairseq numbers from padding + 1 on, its frequencies spaced by
    log(10000) / (d_model / 2 - 1), computed in fp32 as transformers computes them."""
    half = d_model // 2
    step = math.log(10000) / (half - 1)
    frequencies = torch.exp(torch.arange(half, dtype=torch.int64).float() * -step)
    positions = torch.arange(padding + 1, padding + 1 + count, dtype=torch.int64).float()
    angles = positions[:, None] * frequencies[None, :]
    table = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    if d_model % 2:
        table = torch.cat([table, torch.zeros(count, 1)], dim=1)
    return table
