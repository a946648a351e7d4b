"""The self-contained model directory: config.yaml, model.safetensors, tokenizer(s), metadata.

Weights are read and written only through safetensors, which holds tensors and nothing that
runs. The directory is written beside its destination and renamed into place, so a reader
never sees half of one.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from safetensors.torch import load_model, save_model

from seq2seq.data.normalize import NormalizationConfig, Normalizer
from seq2seq.data.tokenizer import Tokenizer
from seq2seq.model import Transformer, TransformerConfig

FORMAT_VERSION = 1
CONFIG, WEIGHTS, METADATA = "config.yaml", "model.safetensors", "metadata.json"


@dataclass(frozen=True)
class ModelDirSpec:
    """Everything besides the weights that translating needs.

    Attributes:
        src_lang, tgt_lang: e.g. "en", "fa".
        src_tokenizer, tgt_tokenizer: SentencePiece model files (the same file when joint).
        src_normalization, tgt_normalization: applied to input and expected of output.
    """

    src_lang: str
    tgt_lang: str
    src_tokenizer: Path
    tgt_tokenizer: Path
    src_normalization: NormalizationConfig
    tgt_normalization: NormalizationConfig

    @classmethod
    def from_dict(cls, state: Mapping[str, Any], *, base: Path) -> ModelDirSpec:
        """From the layout that config.yaml, prepared data's meta.json and checkpoints share:
        ``src_lang``, ``tgt_lang``, ``tokenizer: {src, tgt}`` (paths relative to ``base``, or
        absolute) and ``normalization: {src, tgt}``."""
        return cls(
            src_lang=state["src_lang"],
            tgt_lang=state["tgt_lang"],
            src_tokenizer=base / state["tokenizer"]["src"],
            tgt_tokenizer=base / state["tokenizer"]["tgt"],
            src_normalization=NormalizationConfig(**state["normalization"]["src"]),
            tgt_normalization=NormalizationConfig(**state["normalization"]["tgt"]),
        )

    def to_dict(self) -> dict[str, Any]:
        """The inverse of ``from_dict``, in plain types (tokenizer paths as given)."""
        return {
            "src_lang": self.src_lang,
            "tgt_lang": self.tgt_lang,
            "tokenizer": {"src": str(self.src_tokenizer), "tgt": str(self.tgt_tokenizer)},
            "normalization": {
                "src": asdict(self.src_normalization),
                "tgt": asdict(self.tgt_normalization),
            },
        }


@dataclass
class LoadedModel:
    """A model directory in memory, ready to translate."""

    model: Transformer
    spec: ModelDirSpec
    src_tokenizer: Tokenizer
    tgt_tokenizer: Tokenizer
    src_normalizer: Normalizer
    tgt_normalizer: Normalizer
    metadata: dict = field(default_factory=dict)


def _tokenizer_names(spec: ModelDirSpec) -> tuple[str, str]:
    if spec.src_tokenizer == spec.tgt_tokenizer:
        return "spm.model", "spm.model"
    return "source.spm", "target.spm"


def save_model_dir(directory: Path, model: Transformer, spec: ModelDirSpec, metadata: dict) -> Path:
    """Write ``directory`` (replacing an existing one) and return it."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    work = directory.with_name(f".{directory.name}.tmp-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    src_name, tgt_name = _tokenizer_names(spec)
    shutil.copyfile(spec.src_tokenizer, work / src_name)
    shutil.copyfile(spec.tgt_tokenizer, work / tgt_name)
    config = {"format_version": FORMAT_VERSION, **spec.to_dict(), "model": asdict(model.cfg)}
    config["tokenizer"] = {"src": src_name, "tgt": tgt_name}
    (work / CONFIG).write_text(OmegaConf.to_yaml(OmegaConf.create(config)), encoding="utf-8")
    save_model(model, str(work / WEIGHTS))
    (work / METADATA).write_text(json.dumps(metadata, indent=2, ensure_ascii=False) + "\n")
    if directory.exists():
        old = directory.with_name(f".{directory.name}.old-{os.getpid()}")
        os.replace(directory, old)
        os.replace(work, directory)
        shutil.rmtree(old)
    else:
        os.replace(work, directory)
    return directory


def load_model_dir(directory: Path | str) -> LoadedModel:
    """Read a model directory written by ``save_model_dir``; the model is in eval mode."""
    directory = Path(directory)
    config = OmegaConf.to_container(OmegaConf.load(directory / CONFIG))
    model = Transformer(TransformerConfig(**config["model"]))
    load_model(model, str(directory / WEIGHTS))
    spec = ModelDirSpec.from_dict(config, base=directory)
    metadata_path = directory / METADATA
    metadata = json.loads(metadata_path.read_text()) if metadata_path.exists() else {}
    return LoadedModel(
        model=model.eval(),
        spec=spec,
        src_tokenizer=Tokenizer(spec.src_tokenizer),
        tgt_tokenizer=Tokenizer(spec.tgt_tokenizer),
        src_normalizer=Normalizer(spec.src_normalization),
        tgt_normalizer=Normalizer(spec.tgt_normalization),
        metadata=metadata,
    )
