"""Data preparation as a composed train/prepare config asks for it (or the cached result)."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from seq2seq.common.errors import ConfigError
from seq2seq.data.corpus import DataConfig
from seq2seq.data.demo import write_demo_corpus
from seq2seq.data.prepare import PrepareReport, Progress, prepare
from seq2seq.data.tokenizer import TokenizerConfig, TokenizerFiles


def data_config_from(cfg: DictConfig) -> DataConfig:
    """The data section of a composed train/prepare config."""
    return DataConfig.from_config(OmegaConf.to_container(cfg.data, resolve=True))


def generate_demo_corpus(root: Path, sizes: dict) -> None:
    """The demo corpus of ``data.generate`` (``sizes``: train, dev, test, seed) under ``root``.

    Raises:
        ConfigError: ``root`` (data.root) cannot be written.
    """
    try:
        write_demo_corpus(root, **sizes)
    except OSError as error:
        raise ConfigError(
            f"data.root ({root}) must be a folder the demo corpus can be written to: "
            f"{error.strerror}"
        ) from None


def prepare_from_config(
    cfg: DictConfig,
    *,
    given_tokenizers: tuple[TokenizerFiles, TokenizerFiles] | None = None,
    progress: Progress | None = None,
) -> PrepareReport:
    """Run (or find cached) data preparation for ``cfg``, encoding with ``given_tokenizers``
    (source, target) instead of new ones when given; a config with ``data.generate`` writes
    the demo corpus first where it is missing."""
    data = data_config_from(cfg)
    if "generate" in cfg.data and not data.root.exists():
        generate_demo_corpus(data.root, OmegaConf.to_container(cfg.data.generate, resolve=True))
    tokenizer = TokenizerConfig(**OmegaConf.to_container(cfg.tokenizer, resolve=True))
    return prepare(
        data,
        tokenizer,
        output_root=Path(cfg.paths.prepared_dir),
        seed=cfg.seed,
        progress=progress,
        given_tokenizers=given_tokenizers,
    )
