"""Build everything a training run needs from the composed config, then fit and test."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.utilities.exceptions import MisconfigurationException

from seq2seq.common.errors import ConfigError
from seq2seq.data.batching import Layout
from seq2seq.data.prepare import PreparedData
from seq2seq.inference.options import DecodingOptions
from seq2seq.model import Model, build_model
from seq2seq.model.lora import add_lora
from seq2seq.modeldir.format import LANGUAGE_MODEL, TASKS, TRANSLATION, ModelDirSpec
from seq2seq.training.callbacks import CarryOverOptimizer, ExportModelDirectory
from seq2seq.training.checkpoint_io import AtomicCheckpointIO
from seq2seq.training.datamodule import TranslationDataModule
from seq2seq.training.freeze import freeze
from seq2seq.training.init import InitialModel, initialize_from
from seq2seq.training.loss import LabelSmoothedCrossEntropy
from seq2seq.training.module import TranslationModule
from seq2seq.training.precision import resolve_precision
from seq2seq.training.scorer import TranslationScorer


def build_module(
    cfg: DictConfig, data: PreparedData, *, initial: InitialModel | None = None
) -> TranslationModule:
    """The model of ``cfg.model`` sized to the data's vocabularies, wrapped for training;
    with the weights of ``initial`` (read from ``cfg.init_from``) when given."""
    vocab = data.meta["vocab_size"]
    check_task(cfg, data)
    model_config = build(
        cfg.model, setting="model", src_vocab_size=vocab["src"], tgt_vocab_size=vocab["tgt"]
    )
    net = build_model(model_config)
    if initial is not None:
        initialize_from(net, initial)
    freeze(net, list(cfg.module.get("freeze") or []))
    lora = cfg.module.get("lora")
    if lora is not None and lora.rank:
        add_lora(net, rank=lora.rank, alpha=lora.alpha, targets=list(lora.targets))
    eval_splits = [name for name in data.split_names if name != "train"]
    references = {
        split: data.raw_path(split, "ref").read_text(encoding="utf-8").splitlines()
        for split in eval_splits
    }
    return TranslationModule(
        net,
        loss=LabelSmoothedCrossEntropy(smoothing=cfg.module.label_smoothing),
        optimizer=instantiate(cfg.optimizer),
        scheduler=instantiate(cfg.scheduler),
        decoding=DecodingOptions.from_config(OmegaConf.to_container(cfg.decoding, resolve=True)),
        scorer=TranslationScorer(data.tokenizer("tgt").decode, references, data.test_split_names)
        if cfg.task == TRANSLATION
        else None,
        max_nonfinite_steps=cfg.module.max_nonfinite_steps,
    )


def build(node: DictConfig, *, setting: str, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate(node, **kwargs)``, where a value that the target refuses is
    one line naming ``setting`` (the node's key), not Hydra's report of the target's error.

    Raises:
        ConfigError: the target raised ValueError, TypeError or Lightning's
            MisconfigurationException, which is what constructors raise for bad arguments.
    """
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as error:
        cause = error.__cause__
        if isinstance(cause, (ValueError, TypeError, MisconfigurationException)):
            raise ConfigError(f"{setting}: {cause}") from None
        raise


def build_each(group: DictConfig, *, setting: str) -> list[Any]:
    """``build`` each entry of ``group`` (callbacks, logger) that is not null."""
    return [
        build(node, setting=f"{setting}.{name}") for name, node in group.items() if node is not None
    ]


LM_TEXTS = ("target", "both")  # a language model's text: the target side, or both sides


def check_task(cfg: DictConfig, data: PreparedData) -> None:
    """A language model is decoder-only; a decoder-only model that reads source text (a
    translation model's prompt, a language model of both sides) has one tokenizer for both.

    Raises:
        ConfigError: naming the setting to change.
    """
    if cfg.task not in TASKS:
        raise ConfigError(f"task={cfg.task}: choose one of {', '.join(TASKS)}")
    if cfg.lm_text not in LM_TEXTS:
        raise ConfigError(f"lm_text={cfg.lm_text}: choose one of {', '.join(LM_TEXTS)}")
    decoder_only = cfg.model.encoder_layers == 0
    if cfg.task == LANGUAGE_MODEL and not decoder_only:
        raise ConfigError(
            "task=language_model needs a decoder-only model (model=lm_tiny or lm_small, "
            f"model.encoder_layers=0), got encoder_layers={cfg.model.encoder_layers}"
        )
    reads_source = cfg.task == TRANSLATION or cfg.lm_text == "both"
    tokenizers = data.meta["tokenizer"]
    if decoder_only and reads_source and tokenizers["src"] != tokenizers["tgt"]:
        raise ConfigError(
            "a decoder-only model reads source and target with one vocabulary: set "
            "tokenizer.joint=true"
        )


def data_layout(cfg: DictConfig, model: Model) -> Layout:
    """What a batch holds of the pairs (``seq2seq.data.batching.LAYOUTS``)."""
    if cfg.task == LANGUAGE_MODEL:
        return "sides" if cfg.lm_text == "both" else "target"
    return model.pair_layout


def build_datamodule(
    cfg: DictConfig, data: PreparedData, *, max_positions: int, layout: Layout
) -> TranslationDataModule:
    batching = cfg.data.batching
    return TranslationDataModule(
        data.directory,
        max_tokens=batching.max_tokens,
        eval_max_tokens=batching.eval_max_tokens,
        max_positions=max_positions,
        seed=cfg.seed,
        num_workers=batching.num_workers,
        valid_max_sentences=cfg.module.val_max_sentences,
        layout=layout,
    )


def _spec(data: PreparedData, *, task: str, initial: InitialModel | None) -> ModelDirSpec:
    """The run's model directory's spec: the prepared data's, with ``init_from``'s language
    tags (every language of a multilingual model, not only the data's two)."""
    spec = replace(ModelDirSpec.from_dict(data.meta, base=data.directory), task=task)
    return spec if initial is None else replace(spec, tags=initial.spec.tags)


def build_trainer(
    cfg: DictConfig, data: PreparedData, *, initial: InitialModel | None = None
) -> pl.Trainer:
    output_dir = Path(cfg.paths.output_dir)
    summary = {key: data.meta[key] for key in ("splits", "pairs_read", "dropped")}
    summary["prepared"] = str(data.directory.resolve())  # the default of seq2seq-shortlist
    callbacks = build_each(cfg.callbacks, setting="callbacks")
    callbacks.append(
        ExportModelDirectory(
            output_dir / "model",
            _spec(data, task=cfg.task, initial=initial),
            summary,
            init_from=str(initial.path) if initial else None,
        )
    )
    if initial is not None and initial.optimizer_state is not None:
        callbacks.append(CarryOverOptimizer(initial.optimizer_state, initial.scheduler_state))
    loggers = build_each(cfg.logger, setting="logger")
    precision = resolve_precision(
        cfg.trainer.precision, accelerator=cfg.trainer.accelerator, d_model=cfg.model.d_model
    )
    return build(
        cfg.trainer,
        setting="trainer",
        callbacks=callbacks,
        logger=loggers or False,
        precision=precision,
        default_root_dir=str(output_dir),
        plugins=[AtomicCheckpointIO()],
    )


def train(
    cfg: DictConfig, data: PreparedData, *, initial: InitialModel | None = None
) -> dict[str, float]:
    """Fit (from ``initial``'s weights, or resuming from ``cfg.ckpt_path`` if set), test the
    best checkpoint, return metrics."""
    pl.seed_everything(cfg.seed, workers=True)
    module = build_module(cfg, data, initial=initial)
    datamodule = build_datamodule(
        cfg,
        data,
        max_positions=module.net.cfg.max_positions,
        layout=data_layout(cfg, module.net),
    )
    trainer = build_trainer(cfg, data, initial=initial)
    if trainer.is_global_zero:  # what trainer.precision=auto chose, for the log
        print(f"precision: {trainer.precision}", flush=True)
    trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
    if not datamodule.test_split_names or not cfg.get("test_after_training", True):
        return metrics
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    results = trainer.test(module, datamodule=datamodule, ckpt_path=best or None, verbose=False)
    return metrics | {k: float(v) for part in results for k, v in part.items()}
