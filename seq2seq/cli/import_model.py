"""seq2seq-import huggingface HF_DIR -o MODEL_DIR: a pretrained model as one of our model
directories."""

from __future__ import annotations

import argparse
from pathlib import Path

from seq2seq.cli.common import user_errors
from seq2seq.modeldir.huggingface import import_huggingface


def build_parser() -> argparse.ArgumentParser:
    """seq2seq-import's arguments, unparsed (docs/cli.md is rendered from them)."""
    parser = argparse.ArgumentParser(
        prog="seq2seq-import",
        description="Write a model directory from a local folder of a Hugging Face "
        "MarianMTModel (OPUS-MT's models: config.json, model.safetensors or pytorch_model.bin "
        "read without running pickle, source.spm, target.spm, vocab.json) or "
        "M2M100ForConditionalGeneration (M2M-100: vocab.json and sentencepiece.bpe.model; "
        "NLLB-200: tokenizer.json and sentencepiece.bpe.model). Nothing is downloaded.",
    )
    parser.add_argument("format", choices=["huggingface"], help="the folder's format")
    parser.add_argument("folder", type=Path, help="the Hugging Face model folder")
    parser.add_argument("-o", "--output", type=Path, required=True, help="model directory to write")
    parser.add_argument(
        "--source-lang",
        help="the source language (default: tokenizer_config.json's; a multilingual model "
        "needs one, its default direction's: eng_Latn or en)",
    )
    parser.add_argument(
        "--target-lang",
        help="the target language (default: tokenizer_config.json's; a multilingual model "
        "needs one, its default direction's: pes_Arab or fa)",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    with user_errors():
        import_huggingface(
            args.folder, args.output, src_lang=args.source_lang, tgt_lang=args.target_lang
        )
    print(f"imported {args.folder} -> {args.output}")
