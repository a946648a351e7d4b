"""Fine-tuning: a run that starts from a model directory's weights, tokenizer and vocabulary.

The data of the run is encoded with the model's SentencePiece model(s), so every id means what
it meant in the model; the optimizer and the learning-rate schedule start fresh. A model that
translates another direction, normalizes text differently or has another architecture than
the experiment is refused with one line, before any data is prepared or any update made.
Dropout rates may differ: they are training settings, not part of the architecture.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from seq2seq.data.corpus import DataConfig
from seq2seq.data.errors import ConfigError
from seq2seq.inference.model_dir import LoadedModel, load_model_dir
from seq2seq.model import Transformer

TRAINING_SETTINGS = frozenset(
    {"dropout", "attention_dropout", "activation_dropout", "word_dropout"}
)


def load_initial_model(path: Path, data: DataConfig) -> LoadedModel:
    """The model directory ``path``, checked against the data's direction and normalization.

    Raises:
        DataError: ``path`` is not a readable model directory.
        ConfigError: the model translates another direction or normalizes otherwise.
    """
    loaded = load_model_dir(path)
    spec = loaded.spec
    if (spec.src_lang, spec.tgt_lang) != (data.src_lang, data.tgt_lang):
        raise ConfigError(
            f"init_from={path} translates {spec.src_lang}-{spec.tgt_lang} but the experiment's "
            f"data is {data.src_lang}-{data.tgt_lang}"
        )
    for side, lang, model_side in (
        ("source", data.src_lang, spec.src_normalization),
        ("target", data.tgt_lang, spec.tgt_normalization),
    ):
        if data.normalization[lang] != model_side:
            raise ConfigError(
                f"init_from={path} normalizes its {side} ({lang}) as {asdict(model_side)}, "
                f"the experiment as {asdict(data.normalization[lang])}"
            )
    return loaded


def initialize_from(net: Transformer, loaded: LoadedModel, *, path: Path) -> None:
    """Copy the loaded model's weights into ``net``, whose architecture must be the same.

    Raises:
        ConfigError: naming every architecture setting that differs.
    """
    model_cfg, run_cfg = asdict(loaded.model.cfg), asdict(net.cfg)
    differences = [
        f"{key} {model_cfg[key]} (model) vs {run_cfg[key]} (experiment)"
        for key in model_cfg
        if key not in TRAINING_SETTINGS and model_cfg[key] != run_cfg[key]
    ]
    if differences:
        raise ConfigError(
            f"init_from={path} does not fit the experiment's model: {'; '.join(differences)}"
        )
    net.load_state_dict(loaded.model.state_dict())
