"""Fine-tuning: a run that starts from another model's weights, tokenizer and vocabulary.

``init_from`` is a model directory or a checkpoint of ``seq2seq-train`` (whose tokenizer is
still where that run prepared its data). The run's data is encoded with that SentencePiece
model, so every id means what it meant. The optimizer and the learning-rate schedule start
fresh, unless ``init_optimizer`` asks to carry over a checkpoint's (Adam's moments and the
schedule's position; the update count, data order and early stopping still start anew:
resuming a run is ``ckpt_path``). A model that translates another direction, normalizes text
differently or has another architecture than the experiment is refused with one line, before
any data is prepared or any update made. Dropout rates may differ: they are training
settings, not part of the architecture.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from seq2seq.common.errors import ConfigError, DataError
from seq2seq.common.languages import iso_code
from seq2seq.data.corpus import DataConfig
from seq2seq.model import Model, build_model
from seq2seq.modeldir.format import ModelDirSpec, load_model_dir
from seq2seq.training.callbacks import SPEC_KEY, spec_from_checkpoint
from seq2seq.training.checkpoint_io import read_checkpoint

TRAINING_SETTINGS = frozenset({"dropout", "attention_dropout", "activation_dropout"})


@dataclass
class InitialModel:
    """What a fine-tuning run starts from.

    Attributes:
        path: the model directory or checkpoint it was read from.
        model: the weights.
        spec: its direction, tokenizer(s) and normalization.
        optimizer_state, scheduler_state: a checkpoint's, when asked for (else None).
    """

    path: Path
    model: Model
    spec: ModelDirSpec
    optimizer_state: dict | None = None
    scheduler_state: dict | None = None


def load_initial_model(path: Path, data: DataConfig, *, optimizer: bool = False) -> InitialModel:
    """The model directory or checkpoint ``path``, checked against the data's direction and
    normalization; with ``optimizer``, the checkpoint's optimizer and schedule too.

    Raises:
        DataError: ``path`` is not a readable model directory or seq2seq-train checkpoint,
            or its tokenizer is gone.
        ConfigError: it translates another direction or normalizes otherwise; or
            ``optimizer`` was asked of a model directory, which has none.
    """
    initial = _read(path, optimizer=optimizer)
    if initial.spec.tags is not None:  # a multilingual model: the data's direction
        initial.spec = initial.spec.directed(data.src_lang, data.tgt_lang)
    spec = initial.spec
    direction = (iso_code(spec.src_lang), iso_code(spec.tgt_lang))
    if direction != (iso_code(data.src_lang), iso_code(data.tgt_lang)):
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
    return initial


def _read(path: Path, *, optimizer: bool) -> InitialModel:
    if not path.exists():
        raise DataError(path, "not found: init_from takes a model directory or a checkpoint")
    if path.is_dir():
        if optimizer:
            raise ConfigError(
                f"init_optimizer=true needs a checkpoint; init_from={path} is a model "
                "directory, which holds no optimizer state"
            )
        loaded = load_model_dir(path, task=None)
        return InitialModel(path, loaded.model, loaded.spec)
    checkpoint = read_checkpoint(path)
    if SPEC_KEY not in checkpoint:
        raise DataError(path, "not a seq2seq-train checkpoint (no model directory spec)")
    spec, model_config = spec_from_checkpoint(checkpoint[SPEC_KEY])
    for tokenizer in {spec.src_tokenizer, spec.tgt_tokenizer}:
        if not tokenizer.is_file():
            raise DataError(tokenizer, f"the tokenizer of {path} is gone: export a model "
                                       "directory from the run instead")  # fmt: skip
    model = build_model(model_config)
    state = checkpoint["state_dict"]
    model.load_state_dict({k.removeprefix("net."): v for k, v in state.items() if k[:4] == "net."})
    if not optimizer:
        return InitialModel(path, model, spec)
    (optimizer_state,) = checkpoint["optimizer_states"]
    (scheduler_state,) = checkpoint["lr_schedulers"] or [None]
    return InitialModel(path, model, spec, optimizer_state, scheduler_state)


def inherit_architecture(model: DictConfig, initial: InitialModel | None) -> None:
    """Fill, in place, each setting that the experiment's ``model`` leaves missing (``???``,
    as ``model=from_init`` leaves the architecture) with ``init_from``'s model's.

    Raises:
        ConfigError: some are missing, and there is no ``init_from``.
    """
    left = [key for key in model if OmegaConf.is_missing(model, key) and "vocab_size" not in key]
    if left and initial is None:
        raise ConfigError(f"model: {', '.join(left)} come from init_from's model; set init_from")
    for key in left:
        model[key] = getattr(initial.model.cfg, key)


def initialize_from(net: Model, initial: InitialModel) -> None:
    """Copy the initial model's weights into ``net``, whose architecture must be the same.

    Raises:
        ConfigError: naming every architecture setting that differs.
    """
    model_cfg, run_cfg = asdict(initial.model.cfg), asdict(net.cfg)
    differences = [
        f"{key} {model_cfg[key]} (model) vs {run_cfg[key]} (experiment)"
        for key in model_cfg
        if key not in TRAINING_SETTINGS and model_cfg[key] != run_cfg[key]
    ]
    if differences:
        raise ConfigError(
            f"init_from={initial.path} does not fit the experiment's model: "
            + "; ".join(differences)
        )
    net.load_state_dict(initial.model.state_dict())
