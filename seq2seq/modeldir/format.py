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
from dataclasses import asdict, dataclass, field, replace
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from safetensors import SafetensorError
from safetensors.torch import load_model, save_model

from seq2seq.common.atomic import give_usual_permissions
from seq2seq.common.errors import ConfigError, DataError
from seq2seq.common.languages import resolve
from seq2seq.common.version import __version__
from seq2seq.data.normalize import NormalizationConfig, Normalizer
from seq2seq.data.tokenizer import Tokenizer, TokenizerFiles
from seq2seq.model import Model, TransformerConfig, build_model

FORMAT_VERSION = 1
CONFIG, WEIGHTS, METADATA = "config.yaml", "model.safetensors", "metadata.json"
DATA = "data"  # metadata.json's summary of the training data (its "prepared" folder among it)
TRANSLATION, LANGUAGE_MODEL = "translation", "language_model"
TASKS = (TRANSLATION, LANGUAGE_MODEL)
_KINDS = {  # what a model of each task is called, and the tools that take it
    TRANSLATION: (
        "translation model",
        "seq2seq-translate, -eval, -serve, -export or seq2seq-score --src --tgt",
    ),
    LANGUAGE_MODEL: ("language model", "seq2seq-sample or seq2seq-score"),
}


@dataclass(frozen=True)
class ModelDirSpec:
    """Everything besides the weights that translating needs.

    Attributes:
        src_lang, tgt_lang: e.g. "en", "fa".
        src_tokenizer, tgt_tokenizer: SentencePiece model files (the same file when joint).
        src_normalization, tgt_normalization: applied to input and expected of output.
        task: "translation" (source -> target), or "language_model": a decoder-only model of
            the target language's text alone (its source side only names the data it came
            from).
        src_vocabulary, tgt_vocabulary: for an imported model, the vocabulary files that
            number each tokenizer's pieces (``VocabularyTokenizer``); None: SentencePiece's own
            ids.
        tags: a multilingual model's language tag of each language it knows, by code
            (M2M-100's "en": "__en__", NLLB's "eng_Latn": "eng_Latn"); ``src_tag`` starts
            every source, and the decoder reads ``tgt_tag`` after bos
            (``LoadedModel.target_prompt``); None: a model of one direction, untagged.
    """

    src_lang: str
    tgt_lang: str
    src_tokenizer: Path
    tgt_tokenizer: Path
    src_normalization: NormalizationConfig
    tgt_normalization: NormalizationConfig
    task: str = TRANSLATION
    src_vocabulary: Path | None = None
    tgt_vocabulary: Path | None = None
    tags: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        for code in (self.src_lang, self.tgt_lang):
            if self.tags is not None and resolve(code, self.tags) is None:
                raise ValueError(f"tags must name {code} (or an alias of it)")

    @property
    def src_tag(self) -> str | None:
        """The source language's tag (its code may be an alias of the tags' code)."""
        return None if self.tags is None else self.tags[resolve(self.src_lang, self.tags)]

    @property
    def tgt_tag(self) -> str | None:
        """The target language's tag (its code may be an alias of the tags' code)."""
        return None if self.tags is None else self.tags[resolve(self.tgt_lang, self.tags)]

    def directed(self, src_lang: str | None, tgt_lang: str | None) -> ModelDirSpec:
        """This spec translating ``src_lang`` -> ``tgt_lang`` (codes or their aliases; None:
        this spec's), which a multilingual model may choose among its ``tags``.

        Raises:
            ConfigError: a language the model does not translate, naming those it does.
        """
        known = self.tags or {self.src_lang: None, self.tgt_lang: None}
        chosen = []
        for side, code, default in (("source", src_lang, self.src_lang),
                                    ("target", tgt_lang, self.tgt_lang)):  # fmt: skip
            found = default if code is None else resolve(code, known)
            if found is None or (self.tags is None and found != default):
                offered = sorted(known) if self.tags else [default]
                raise ConfigError(f"the model has no {side} language {code!r}: it has {offered}")
            chosen.append(found)
        return replace(self, src_lang=chosen[0], tgt_lang=chosen[1])

    @classmethod
    def from_dict(cls, state: Mapping[str, Any], *, base: Path) -> ModelDirSpec:
        """From the layout that config.yaml, prepared data's meta.json and checkpoints share:
        ``src_lang``, ``tgt_lang``, ``tokenizer: {src, tgt}`` (paths relative to ``base``, or
        absolute), ``normalization: {src, tgt}``, ``task`` (translation when absent),
        ``vocabulary: {src, tgt}`` and ``tags: {code: tag}`` (absent: none; ``{src, tgt}``, as
        first written, names the direction's two)."""
        vocabulary = state.get("vocabulary") or {"src": None, "tgt": None}
        tags = state.get("tags")
        if tags is not None and set(tags) == {"src", "tgt"}:  # one direction's, as first written
            tags = {state["src_lang"]: tags["src"], state["tgt_lang"]: tags["tgt"]}
        return cls(
            src_lang=state["src_lang"],
            tgt_lang=state["tgt_lang"],
            src_tokenizer=base / state["tokenizer"]["src"],
            tgt_tokenizer=base / state["tokenizer"]["tgt"],
            src_normalization=NormalizationConfig(**state["normalization"]["src"]),
            tgt_normalization=NormalizationConfig(**state["normalization"]["tgt"]),
            task=state.get("task", TRANSLATION),
            src_vocabulary=None if vocabulary["src"] is None else base / vocabulary["src"],
            tgt_vocabulary=None if vocabulary["tgt"] is None else base / vocabulary["tgt"],
            tags=tags,
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
            "task": self.task,
        } | self._optional_dict()

    def _optional_dict(self) -> dict[str, Any]:
        """``vocabulary`` and ``tags``, where the model has them."""
        tags = {} if self.tags is None else {"tags": dict(self.tags)}
        if self.src_vocabulary is None:
            return tags
        paths = {"src": str(self.src_vocabulary), "tgt": str(self.tgt_vocabulary)}
        return {"vocabulary": paths, **tags}

    def tokenizer_files(self, side: str) -> TokenizerFiles:
        """The files of the tokenizer of ``side``, "src" or "tgt"."""
        if side == "src":
            return TokenizerFiles(self.src_tokenizer, self.src_vocabulary, self.src_tag)
        return TokenizerFiles(self.tgt_tokenizer, self.tgt_vocabulary)

    def training_tokenizer_files(self) -> tuple[TokenizerFiles, TokenizerFiles]:
        """The tokenizers that encode a fine-tuning run's (source, target) text: a
        multilingual model's target starts with its language's tag too, which the decoder
        learns to read after bos and to predict (as transformers fine-tunes NLLB); decoding
        then gives it as the prompt."""
        return self.tokenizer_files("src"), replace(
            self.tokenizer_files("tgt"), prefix=self.tgt_tag
        )


@dataclass
class LoadedModel:
    """A model directory in memory, ready to translate (or, a language model, to sample)."""

    model: Model
    spec: ModelDirSpec
    src_tokenizer: Tokenizer
    tgt_tokenizer: Tokenizer
    src_normalizer: Normalizer
    tgt_normalizer: Normalizer
    metadata: dict = field(default_factory=dict)

    def directed(self, src_lang: str | None, tgt_lang: str | None) -> LoadedModel:
        """This model translating ``src_lang`` -> ``tgt_lang`` (``ModelDirSpec.directed``):
        the same weights, the source read with that language's tag (itself where nothing
        changes).

        Raises:
            ConfigError: a language the model does not translate.
        """
        spec = self.spec.directed(src_lang, tgt_lang)
        if spec == self.spec:
            return self
        return replace(self, spec=spec, src_tokenizer=self.src_tokenizer.prefixed(spec.src_tag))

    @property
    def target_prompt(self) -> tuple[int, ...]:
        """What the decoder reads after bos before its output: the target's language tag,
        or nothing."""
        if self.spec.tgt_tag is None:
            return ()
        return (self.tgt_tokenizer.id_of(self.spec.tgt_tag),)


def _tokenizer_names(spec: ModelDirSpec) -> tuple[str, str]:
    if spec.src_tokenizer == spec.tgt_tokenizer:
        return "spm.model", "spm.model"
    return "source.spm", "target.spm"


def _vocabulary_names(spec: ModelDirSpec) -> tuple[str, str]:
    if spec.src_vocabulary == spec.tgt_vocabulary:
        return "vocabulary.json", "vocabulary.json"
    return "source.vocabulary.json", "target.vocabulary.json"


def save_model_dir(directory: Path, model: Model, spec: ModelDirSpec, metadata: dict) -> Path:
    """Write ``directory`` and return it. An existing model directory is replaced; any other
    existing path is refused (``DataError``), since replacing it would delete what it holds."""
    directory = Path(directory)
    check_destination(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    work = directory.with_name(f".{directory.name}.tmp-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        _write_contents(work, model, spec, metadata)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)  # the previous directory stays as it was
        raise
    if directory.exists():
        old = directory.with_name(f".{directory.name}.old-{os.getpid()}")
        os.replace(directory, old)
        os.replace(work, directory)
        shutil.rmtree(old)
    else:
        os.replace(work, directory)
    return directory


def check_destination(directory: Path) -> None:
    """Raise ``DataError`` unless ``save_model_dir`` may write ``directory``: it is missing, a
    model directory or an empty folder. ``-o runs/x`` meant as ``-o runs/x/averaged`` must not
    delete the run's checkpoints."""
    if not os.path.lexists(directory):
        return
    real_folder = directory.is_dir() and not directory.is_symlink()
    if not (real_folder and ((directory / CONFIG).is_file() or not any(directory.iterdir()))):
        raise DataError(
            directory,
            f"exists and is neither a model directory (with {CONFIG}) nor an empty folder; "
            "not replacing it",
        )


def _write_contents(work: Path, model: Model, spec: ModelDirSpec, metadata: dict) -> None:
    src_name, tgt_name = _tokenizer_names(spec)
    shutil.copyfile(spec.src_tokenizer, work / src_name)
    shutil.copyfile(spec.tgt_tokenizer, work / tgt_name)
    config = {"format_version": FORMAT_VERSION, **spec.to_dict(), "model": asdict(model.cfg)}
    config["tokenizer"] = {"src": src_name, "tgt": tgt_name}
    if spec.src_vocabulary is not None:
        src_vocabulary, tgt_vocabulary = _vocabulary_names(spec)
        shutil.copyfile(spec.src_vocabulary, work / src_vocabulary)
        shutil.copyfile(spec.tgt_vocabulary, work / tgt_vocabulary)
        config["vocabulary"] = {"src": src_vocabulary, "tgt": tgt_vocabulary}
    (work / CONFIG).write_text(OmegaConf.to_yaml(OmegaConf.create(config)), encoding="utf-8")
    save_model(model, str(work / WEIGHTS))
    give_usual_permissions(work / WEIGHTS)
    (work / METADATA).write_text(json.dumps(metadata, indent=2, ensure_ascii=False) + "\n")


def read_spec(directory: Path | str) -> ModelDirSpec:
    """What a model directory says of itself (languages, tokenizers, task), without its
    weights; raises ``DataError`` as ``load_model_dir`` does."""
    return read_configs(Path(directory))[1]


def read_configs(directory: Path) -> tuple[TransformerConfig, ModelDirSpec]:
    """The model's configuration and the directory's spec, from its config.yaml."""
    if not directory.is_dir():
        raise DataError(directory, "model directory not found")
    config = _read_config(directory / CONFIG)
    try:
        return TransformerConfig.from_dict(config["model"]), ModelDirSpec.from_dict(
            config, base=directory
        )
    except (KeyError, TypeError, ValueError) as error:  # a missing key, an impossible value
        raise DataError(directory / CONFIG, f"incomplete or invalid: {error}") from None


def load_model_dir(directory: Path | str, *, task: str | None = TRANSLATION) -> LoadedModel:
    """Read a model directory written by ``save_model_dir``; the model is in eval mode.

    Args:
        task: what the caller does with the model; a directory of another task is refused
            (None takes either).

    Raises:
        DataError: one line naming the file at fault: a missing folder or file, a config.yaml
            this version cannot read (not YAML, a newer format, unknown or missing keys),
            weights that are not safetensors or do not fit the config, a tokenizer whose
            vocabulary size differs from the weights', or a model of another ``task``.
    """
    directory = Path(directory)
    model_config, spec = read_configs(directory)
    if task is not None and spec.task != task:
        (kind, tools), (wanted, _) = _KINDS[spec.task], _KINDS[task]
        raise DataError(directory, f"is a {kind}, not a {wanted}: use {tools}")
    src_tokenizer = _read_tokenizer(spec, "src", model_config.src_vocab_size)
    tgt_tokenizer = _read_tokenizer(spec, "tgt", model_config.tgt_vocab_size)
    model = _read_weights(directory / WEIGHTS, build_model(model_config))
    metadata_path = directory / METADATA
    metadata = json.loads(metadata_path.read_text()) if metadata_path.exists() else {}
    return LoadedModel(
        model=model.eval(),
        spec=spec,
        src_tokenizer=src_tokenizer,
        tgt_tokenizer=tgt_tokenizer,
        src_normalizer=Normalizer(spec.src_normalization),
        tgt_normalizer=Normalizer(spec.tgt_normalization),
        metadata=metadata,
    )


def _fields(cls: type) -> set[str]:
    return {f.name for f in dataclass_fields(cls)}


# The keys config.yaml may hold, nested as in the file (None: a plain value).
_CONFIG_KEYS = {
    "format_version": None,
    "src_lang": None,
    "tgt_lang": None,
    "tokenizer": {"src", "tgt"},
    "normalization": {"src": _fields(NormalizationConfig), "tgt": _fields(NormalizationConfig)},
    "model": TransformerConfig.keys(),
    "task": None,
    "vocabulary": {"src", "tgt"},
    "tags": None,  # a language code's tag each: codes are the model's (from_dict checks them)
}


def _read_config(path: Path) -> dict[str, Any]:
    """config.yaml as a dict, every key known to this version (DataError otherwise)."""
    if not path.is_file():
        raise DataError(path, "file not found: not a model directory")
    try:
        config = OmegaConf.to_container(OmegaConf.load(path))
    except Exception as error:  # OmegaConf wraps yaml's errors in several types
        raise DataError(path, f"not valid YAML ({type(error).__name__})") from None
    if not isinstance(config, dict):
        raise DataError(path, "not a mapping of settings")
    if config.get("format_version", FORMAT_VERSION) > FORMAT_VERSION:
        version = config["format_version"]
        raise DataError(path, f"format version {version} is newer than seq2seq {__version__} "
                              f"reads ({FORMAT_VERSION}): upgrade seq2seq")  # fmt: skip
    _check_keys(path, config, _CONFIG_KEYS, where="")
    return config


def _check_keys(path: Path, section: Any, known: Mapping | set, *, where: str) -> None:
    """Every key of ``section`` is in ``known``; nested sections are checked too."""
    if not isinstance(section, dict):
        raise DataError(path, f"{where.rstrip('.') or 'the file'} is not a mapping")
    unknown = sorted(set(section) - set(known))
    if unknown:
        raise DataError(path, f"unknown key {where}{unknown[0]} (written by a newer seq2seq?)")
    if isinstance(known, Mapping):
        for key, sub in known.items():
            if sub is not None and key in section:
                _check_keys(path, section[key], sub, where=f"{where}{key}.")


def _read_tokenizer(spec: ModelDirSpec, side: str, vocab_size: int) -> Tokenizer:
    """The tokenizer of ``side``, whose vocabulary must be the weights'."""
    files = spec.tokenizer_files(side)
    for path in files.paths():
        if not path.is_file():
            raise DataError(path, "file not found: the model directory is incomplete")
    tokenizer = files.load()
    path = files.paths()[-1]  # what numbers the pieces
    if tokenizer.vocab_size != vocab_size:
        raise DataError(path, f"the tokenizer has {tokenizer.vocab_size} pieces but the "
                              f"weights expect {vocab_size}")  # fmt: skip
    return tokenizer


def _read_weights(path: Path, model: Model) -> Model:
    """Load safetensors weights; anything else (a pickle, a torn file) is refused unread."""
    if not path.is_file():
        raise DataError(path, "file not found: the model directory is incomplete")
    try:
        load_model(model, str(path))
    except SafetensorError as error:
        raise DataError(path, f"not a valid safetensors file ({error})") from None
    except RuntimeError as error:  # names or shapes that do not fit config.yaml
        raise DataError(
            path, f"weights do not fit config.yaml: {str(error).splitlines()[0]}"
        ) from None
    return model
