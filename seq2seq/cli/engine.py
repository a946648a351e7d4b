"""``--engine``: who decodes plain translation, our decoder or CTranslate2."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from seq2seq.common.errors import ConfigError
from seq2seq.export.engine import CACHE, CTranslate2Engine
from seq2seq.inference.translator import Translator

ENGINES = ("auto", "torch", "ctranslate2")


def add_engine_argument(parser: argparse.ArgumentParser, *, plain: str) -> None:
    """``--engine``, for a CLI whose ``plain`` requests (in words) may go to CTranslate2."""
    parser.add_argument(
        "--engine", choices=ENGINES, default="auto",
        help=f"who decodes {plain}: ctranslate2 (the model converted once, cached in "
        f"MODEL/{CACHE}, its greedy output checked against ours), torch (our decoder), or auto: "
        "ctranslate2 where it can (one encoder-decoder model, no --lm, fp32 or int8 on the "
        "CPU, ctranslate2 installed; a shortlist goes with it as its vocabulary map), torch "
        "elsewhere",
    )  # fmt: skip


def start_engine(
    translator: Translator, models: list[Path], args: argparse.Namespace
) -> CTranslate2Engine | None:
    """The CTranslate2 engine for ``translator`` (of the model directories ``models``), or
    None where ``args.engine`` and the setting leave decoding to ours.

    Raises:
        ConfigError: ``--engine ctranslate2`` where CTranslate2 cannot decode.
        DataError: the conversion translates otherwise than our decoder.
    """
    why_not = _why_not(translator, models, args)
    if why_not is None:
        return CTranslate2Engine.start(translator, models[0], precision=args.precision)
    if args.engine == "ctranslate2":
        raise ConfigError(f"--engine ctranslate2: {why_not}")
    return None


def _why_not(translator: Translator, models: list[Path], args: argparse.Namespace) -> str | None:
    """Why CTranslate2 cannot decode for this setting, or None when it can."""
    if args.engine == "torch":
        return "torch chosen"
    if len(models) > 1:
        return "an ensemble decodes with our decoder only"
    if getattr(args, "lm", None) is not None:
        return "a fused language model decodes with our decoder only"
    if translator.loaded.spec.tgt_tag is not None and translator.shortlist is not None:
        return (f"{models[0]} writes a language tag first, and CTranslate2's vocabulary map "
                "then keeps other tokens than our shortlist does")  # fmt: skip
    if translator.model.cfg.decoder_only:
        return f"{models[0]} is a decoder-only model, which CTranslate2 does not read from us"
    if args.precision not in ("fp32", "int8") or translator.device.type != "cpu":
        return "it runs here in fp32 or int8 on the CPU"
    if importlib.util.find_spec("ctranslate2") is None:
        return "ctranslate2 is not installed: pip install 'seq2seq[serve]'"
    return None
