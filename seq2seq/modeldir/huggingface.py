"""Import a Hugging Face translation model's folder as one of our model directories:
MarianMTModel (OPUS-MT's models; ``marian``) or M2M100ForConditionalGeneration (M2M-100 and
NLLB-200; ``m2m100``).

Nothing is downloaded and no pickle runs: weights come from model.safetensors, or from
pytorch_model.bin through ``torch.load(weights_only=True)``. Anything our architecture cannot
express is one ``DataError`` naming the config value.
"""

from __future__ import annotations

from pathlib import Path

from seq2seq.common.errors import DataError
from seq2seq.modeldir.hf_folder import read_json
from seq2seq.modeldir.m2m100 import import_m2m100
from seq2seq.modeldir.marian import import_marian

IMPORTERS = {"marian": import_marian, "m2m_100": import_m2m100}  # by config.json's model_type


def import_huggingface(
    folder: Path, output: Path, *, src_lang: str | None = None, tgt_lang: str | None = None
) -> Path:
    """Write the model directory ``output`` from the Hugging Face folder ``folder``.

    Args:
        src_lang, tgt_lang: the languages (a multilingual model's default direction, which
            translating may change); None: tokenizer_config.json's.

    Raises:
        DataError: a missing or unreadable file, a model type not imported, or a config
            value our architecture cannot express (named).
    """
    folder = Path(folder)
    config = read_json(folder / "config.json")
    importer = IMPORTERS.get(config.get("model_type"))
    if importer is None:
        raise DataError(
            folder / "config.json",
            f"model_type {config.get('model_type')!r}: seq2seq-import reads MarianMTModel and "
            "M2M100ForConditionalGeneration (M2M-100, NLLB-200) folders (model_type 'marian' or "
            "'m2m_100')",
        )
    return importer(folder, config, output, src_lang=src_lang, tgt_lang=tgt_lang)
