"""What importing a Hugging Face translation model's folder takes, whatever the model: its
JSON and weights (never through pickle), the vocabulary put in our order, the weights of the
layers (MarianMT and M2M-100 name them alike) and of the embeddings, and the writing."""

from __future__ import annotations

import datetime
import json
import pickle
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import Tensor

from seq2seq.common.errors import DataError
from seq2seq.common.special import BOS_ID, PAD_ID, SPECIAL_PIECE_NAMES
from seq2seq.common.version import __version__
from seq2seq.data.normalize import NormalizationConfig
from seq2seq.model import Transformer, TransformerConfig
from seq2seq.modeldir.format import ModelDirSpec, save_model_dir

LEFT_OUT = -1e4  # the logits' bias of a left-out copy of a source id: exp() is 0 in fp32
ACTIVATIONS = {"relu": "relu", "swish": "swish", "silu": "swish"}


def read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise DataError(path, "file not found: not a Hugging Face model folder")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(path, f"not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise DataError(path, "not a JSON object")
    return value


def read_weights(folder: Path) -> tuple[dict[str, Tensor], Path]:
    """The folder's weights and their file, never through pickle."""
    safetensors, pickled = folder / "model.safetensors", folder / "pytorch_model.bin"
    path = safetensors if safetensors.is_file() or not pickled.is_file() else pickled
    if not path.is_file():
        raise DataError(safetensors, "file not found (nor pytorch_model.bin)")
    try:
        if path == safetensors:
            return load_file(str(path)), path
        with warnings.catch_warnings():  # torch warns of a pickle protocol it then refuses
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True), path
    except (SafetensorError, RuntimeError, OSError, pickle.UnpicklingError) as error:
        raise DataError(path, f"unreadable weights ({str(error).splitlines()[0]})") from None


@dataclass(frozen=True)
class Side:
    """One side's vocabulary in our order.

    Attributes:
        order: the imported model's id of each of our ids.
        pieces: each of our ids' piece.
    """

    order: list[int]
    pieces: list[str]

    @property
    def size(self) -> int:
        return len(self.order)

    def write(self, path: Path) -> Path:
        """The vocabulary file of our pieces (``VocabularyTokenizer``'s)."""
        path.write_text(json.dumps(self.pieces, ensure_ascii=False), encoding="utf-8")
        return path


def side_of(path: Path, numbered: dict[str, int], ids: dict[str, int]) -> Side:
    """A vocabulary file's side: the model's id of each of ours (pad, unk, bos (the decoder's
    start), eos, then every other id in order; a decoder that starts from padding gives two
    of ours one id of its), and our special pieces, then its others in our order."""
    pieces = {index: piece for piece, index in numbered.items()}
    special = [ids[name] for name in ("pad", "unk", "start", "eos")]
    order = [*special, *(i for i in range(len(numbered)) if i not in special)]
    if len(pieces) != len(numbered) or set(pieces) != set(order):
        raise DataError(path, "does not number its pieces 0..n - 1 each once")
    return Side(order, list(SPECIAL_PIECE_NAMES) + [pieces[i] for i in order[len(special) :]])


def sizes(path: Path, config: dict[str, Any], *, activation: str) -> dict[str, Any]:
    """Our settings of the sizes, dropouts and activation a config.json states (``activation``
    where it states none).

    Raises:
        DataError: encoder and decoder of other widths or heads, another activation.
    """
    for ours, theirs in (("n_heads", "attention_heads"), ("ffn_dim", "ffn_dim")):
        if config[f"encoder_{theirs}"] != config[f"decoder_{theirs}"]:
            raise DataError(path, f"encoder_{theirs} and decoder_{theirs} differ: our {ours} "
                                  "is one for both")  # fmt: skip
    activation = config.get("activation_function", activation)
    if activation not in ACTIVATIONS:
        raise DataError(path, f"activation_function={activation!r} is not supported "
                              f"(only {sorted(ACTIVATIONS)})")  # fmt: skip
    return {
        "d_model": config["d_model"], "n_heads": config["encoder_attention_heads"],
        "encoder_layers": config["encoder_layers"], "decoder_layers": config["decoder_layers"],
        "ffn_dim": config["encoder_ffn_dim"], "dropout": config.get("dropout", 0.1),
        "attention_dropout": config.get("attention_dropout", 0.0),
        "activation_dropout": config.get("activation_dropout", 0.0),
        "tie_output_embeddings": config.get("tie_word_embeddings", True),
        "activation": ACTIVATIONS[activation],
    }  # fmt: skip


def stack_weights(
    theirs: dict[str, Tensor], source_order: list[int], order: list[int], cfg: TransformerConfig
) -> dict[str, Tensor]:
    """The weights of both stacks under our names (``model.*`` as MarianMT and M2M-100 name
    them), the embeddings' rows in our order of each side's
    vocabulary (``Side.order``: ``source_order``, and ``order`` for the target)."""
    rows = torch.tensor(order)
    shared = theirs.get("model.shared.weight")  # saved once for all the tied embeddings
    source = theirs.get("model.encoder.embed_tokens.weight", shared)
    target = theirs.get("model.decoder.embed_tokens.weight", shared)
    output = theirs.get("lm_head.weight", target)
    if source is None or target is None:
        raise KeyError("model.shared.weight")
    ours = {
        "encoder.embed.tokens.weight": source.index_select(0, torch.tensor(source_order)),
        "decoder.embed.tokens.weight": target.index_select(0, rows),
        "decoder.output_proj.weight": output.index_select(0, rows),
    }
    bias = theirs.get("final_logits_bias", target.new_zeros(1, target.size(0)))[0]
    ours["decoder.output_proj.bias"] = left_out(bias.index_select(0, rows), order)
    for side, count in (("encoder", cfg.encoder_layers), ("decoder", cfg.decoder_layers)):
        for i in range(count):
            ours |= layer_weights(theirs, f"model.{side}.layers.{i}", f"{side}.layers.{i}", side)
    return ours


def left_out(bias: Tensor, order: list[int]) -> Tensor:
    """``bias`` (our vocabulary) with -1e4 at our pad or bos column where its source id comes
    again at a later column of ours (one of two copies: out of the softmax)."""
    for column in (PAD_ID, BOS_ID):
        if order[column] in order[column + 1 :]:
            bias[column] = LEFT_OUT
    return bias


def layer_weights(theirs: dict[str, Tensor], p: str, q: str, side: str) -> dict[str, Tensor]:
    """One layer's weights: theirs named at ``p``, ours at ``q``."""

    def joined(prefix: str, names: tuple[str, ...], kind: str) -> Tensor:
        return torch.cat([theirs[f"{prefix}.{name}_proj.{kind}"] for name in names])

    ours = {}
    for kind in ("weight", "bias"):
        ours[f"{q}.self_attn.qkv_proj.{kind}"] = joined(f"{p}.self_attn", ("q", "k", "v"), kind)
        ours[f"{q}.self_attn.out_proj.{kind}"] = theirs[f"{p}.self_attn.out_proj.{kind}"]
        ours[f"{q}.self_attn_residual.norm.{kind}"] = theirs[f"{p}.self_attn_layer_norm.{kind}"]
        ours[f"{q}.ffn.w_1.{kind}"] = theirs[f"{p}.fc1.{kind}"]
        ours[f"{q}.ffn.w_2.{kind}"] = theirs[f"{p}.fc2.{kind}"]
        ours[f"{q}.ffn_residual.norm.{kind}"] = theirs[f"{p}.final_layer_norm.{kind}"]
        if side == "decoder":
            cross = f"{p}.encoder_attn"
            ours[f"{q}.cross_attn.q_proj.{kind}"] = theirs[f"{cross}.q_proj.{kind}"]
            ours[f"{q}.cross_attn.kv_proj.{kind}"] = joined(cross, ("k", "v"), kind)
            ours[f"{q}.cross_attn.out_proj.{kind}"] = theirs[f"{cross}.out_proj.{kind}"]
            ours[f"{q}.cross_attn_residual.norm.{kind}"] = theirs[
                f"{p}.encoder_attn_layer_norm.{kind}"
            ]
    return ours


def load_into(model: Transformer, weights: Callable[[], dict[str, Tensor]], path: Path) -> None:
    """Load ``weights()`` (theirs renamed) into ``model``; ``path``: the weights' file.

    Raises:
        DataError: a weight missing (named), or one whose shape config.json contradicts.
    """
    try:
        model.load_state_dict(weights())
    except KeyError as error:
        raise DataError(
            path, f"no weight {error.args[0]}: not the model config.json names"
        ) from None
    except RuntimeError as error:
        raise DataError(path, f"does not fit config.json: {str(error).splitlines()[-1]}") from None


def save_imported(
    output: Path, model: Transformer, folder: Path, *, kind: str, languages: tuple[str, str],
    tokenizers: tuple[Path, Path], sides: tuple[Side, Side], tags: dict[str, str] | None = None,
) -> Path:  # fmt: skip
    """Write the imported ``model`` as the model directory ``output``: ``tokenizers`` (source,
    target SentencePiece models) numbered by ``sides`` (one file when they are one), with the
    language ``tags`` of a multilingual model (``ModelDirSpec.tags``); normalization is the
    tokenizers' own."""
    metadata = {
        "seq2seq_version": __version__,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "imported_from": {"format": f"huggingface {kind}", "folder": str(folder.resolve())},
    }
    with tempfile.TemporaryDirectory() as scratch:
        source = sides[0].write(Path(scratch) / "source.json")
        target = source if sides[1] is sides[0] else sides[1].write(Path(scratch) / "target.json")
        spec = ModelDirSpec(
            *languages, src_tokenizer=tokenizers[0], tgt_tokenizer=tokenizers[1],
            src_normalization=NormalizationConfig(unicode_form=None),
            tgt_normalization=NormalizationConfig(unicode_form=None),
            src_vocabulary=source, tgt_vocabulary=target, tags=tags,
        )  # fmt: skip
        return save_model_dir(output, model.eval(), spec, metadata)
