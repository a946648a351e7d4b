"""Import a Hugging Face MarianMTModel folder (OPUS-MT's models) as one of our model directories.

MarianMT is our architecture (post-LN, scaled tied embeddings, [sin | cos] sinusoids from
position 0), with swish in OPUS-MT's feed-forward networks and a bias on the logits, so the
weights are renamed, the fused projections joined, and the vocabulary put in our order:

- OPUS-MT numbers eos 0, unk 1, the text's pieces, and padding last; its decoder starts
  from the padding token and its search never outputs padding. Ours keeps pad 0, unk 1,
  bos 2, eos 3 and then the other pieces in Marian's order: our bos is the decoder's start
  (OPUS-MT's padding row), and where that is also the padding, our pad column is a second
  copy of it that the logits' bias (-1e4) leaves out of the softmax, so that every
  log-probability is Marian's. (Our own export starts from its bos: the ids stay ours.)
- The tokenizers stay Marian's SentencePiece models; a vocabulary file in our id order
  numbers their pieces as vocab.json does (``VocabularyTokenizer``).

Nothing is downloaded and no pickle runs: weights come from model.safetensors, or from
pytorch_model.bin through ``torch.load(weights_only=True)``. Anything our architecture cannot
express is one ``DataError`` naming the config value.
"""

from __future__ import annotations

import datetime
import json
import pickle
import tempfile
import warnings
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

LEFT_OUT = -1e4  # the logits' bias of our duplicate of Marian's padding: exp() is 0 in fp32
# config.json values that Marian models may state, and the only one our architecture takes.
MARIAN_FIXED = {
    "normalize_before": False,
    "normalize_embedding": False,
    "add_final_layer_norm": False,
    "static_position_embeddings": True,
    "scale_embedding": True,
    "is_encoder_decoder": True,
}
ACTIVATIONS = {"relu": "relu", "swish": "swish", "silu": "swish"}
TOKENIZER_FILES = ("source.spm", "target.spm", "vocab.json")  # and target_vocab.json when separate


def import_huggingface(
    folder: Path, output: Path, *, src_lang: str | None = None, tgt_lang: str | None = None
) -> Path:
    """Write the model directory ``output`` from the Hugging Face folder ``folder``.

    Args:
        src_lang, tgt_lang: the languages; None: tokenizer_config.json's.

    Raises:
        DataError: a missing or unreadable file, a model type other than Marian, or a config
            value our architecture cannot express (named).
    """
    folder = Path(folder)
    config = _read_json(folder / "config.json")
    if config.get("model_type") != "marian":
        raise DataError(
            folder / "config.json",
            f"model_type {config.get('model_type')!r}: seq2seq-import reads MarianMTModel "
            "folders (model_type 'marian')",
        )
    for name in TOKENIZER_FILES:
        if not (folder / name).is_file():
            raise DataError(folder / name, "file not found: a MarianMTModel folder has it")
    source, target = _sides(folder, config)
    cfg = marian_to_our_config(folder / "config.json", config, sizes=(source.size, target.size))
    model = Transformer(cfg)
    weights, path = _read_weights(folder)
    try:
        model.load_state_dict(_our_weights(weights, source.order, target.order, cfg))
    except KeyError as error:
        raise DataError(path, f"no weight {error.args[0]} (not a MarianMTModel's)") from None
    except RuntimeError as error:
        raise DataError(path, f"does not fit config.json: {str(error).splitlines()[-1]}") from None
    languages = _languages(folder, src_lang, tgt_lang)
    with tempfile.TemporaryDirectory() as scratch:
        vocabularies = [source.write(Path(scratch) / "source.json")]
        vocabularies.append(vocabularies[0] if target is source else target.write(
            Path(scratch) / "target.json"
        ))  # fmt: skip
        spec = ModelDirSpec(
            *languages, src_tokenizer=folder / "source.spm", tgt_tokenizer=folder / "target.spm",
            src_normalization=NormalizationConfig(unicode_form=None),
            tgt_normalization=NormalizationConfig(unicode_form=None),
            src_vocabulary=vocabularies[0], tgt_vocabulary=vocabularies[1],
        )  # fmt: skip
        metadata = {
            "seq2seq_version": __version__,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "imported_from": {"format": "huggingface marian", "folder": str(folder.resolve())},
        }
        return save_model_dir(output, model.eval(), spec, metadata)


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise DataError(path, "file not found: not a Hugging Face model folder")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(path, f"not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise DataError(path, "not a JSON object")
    return value


@dataclass(frozen=True)
class Side:
    """One side's vocabulary in our order.

    Attributes:
        order: Marian's id of each of our ids.
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


def _sides(folder: Path, config: dict[str, Any]) -> tuple[Side, Side]:
    """The source and target vocabularies: vocab.json for both, or, with tokenizer_config.json's
    ``separate_vocabs``, target_vocab.json for the target."""
    tokenizer_config = folder / "tokenizer_config.json"
    separate = tokenizer_config.is_file() and _read_json(tokenizer_config).get("separate_vocabs")
    path = folder / ("target_vocab.json" if separate else "vocab.json")
    numbered = _read_json(path)
    size = config.get("decoder_vocab_size") or config["vocab_size"]
    target = _side(path, numbered, _target_ids(folder / "config.json", config, numbered, size))
    if not separate:
        return target, target
    numbered = _read_json(folder / "vocab.json")
    pieces = {name: numbered.get(name) for name in ("<pad>", "<unk>", "</s>")}
    if None in pieces.values():
        raise DataError(folder / "vocab.json", f"needs the pieces {list(pieces)}")
    ids = {"pad": pieces["<pad>"], "unk": pieces["<unk>"], "eos": pieces["</s>"]}
    return _side(folder / "vocab.json", numbered, ids | {"start": ids["pad"]}), target


def _target_ids(
    path: Path, config: dict[str, Any], vocab: dict[str, int], size: int
) -> dict[str, int]:
    """Marian's ids of what our special ids are on the target side: pad, unk, the decoder's
    start, eos."""
    ids = {"pad": config.get("pad_token_id"), "eos": config.get("eos_token_id", 0)}
    ids["start"] = config.get("decoder_start_token_id", ids["pad"])
    ids["unk"] = vocab.get("<unk>")
    for name, value in ids.items():
        if not isinstance(value, int) or not 0 <= value < size:
            raise DataError(path, f"the {name} token's id {value} is not one of the target "
                                  f"vocabulary's 0..{size - 1}")  # fmt: skip
    return ids


def _side(path: Path, numbered: dict[str, int], ids: dict[str, int]) -> Side:
    """A vocabulary file's side: Marian's id of each of ours (pad, unk, bos (the decoder's
    start), eos, then every other id in order; a decoder that starts from padding gives two
    of ours one Marian id), and our special pieces, then Marian's others in our order."""
    pieces = {index: piece for piece, index in numbered.items()}
    special = [ids[name] for name in ("pad", "unk", "start", "eos")]
    order = [*special, *(i for i in range(len(numbered)) if i not in special)]
    if len(pieces) != len(numbered) or set(pieces) != set(order):
        raise DataError(path, "does not number its pieces 0..n - 1 each once")
    return Side(order, list(SPECIAL_PIECE_NAMES) + [pieces[i] for i in order[len(special) :]])


def marian_to_our_config(
    path: Path, config: dict[str, Any], *, sizes: tuple[int, int]
) -> TransformerConfig:
    """Our configuration of a Marian config.json's architecture, for ``sizes`` (source,
    target) of our ids.

    Raises:
        DataError: a value our architecture cannot express, named.
    """
    for key, only in MARIAN_FIXED.items():
        if config.get(key, only) != only:
            raise DataError(path, f"{key}={config[key]} is not supported (only {only})")
    for ours, theirs in (("n_heads", "attention_heads"), ("ffn_dim", "ffn_dim")):
        if config[f"encoder_{theirs}"] != config[f"decoder_{theirs}"]:
            raise DataError(path, f"encoder_{theirs} and decoder_{theirs} differ: our {ours} "
                                  "is one for both")  # fmt: skip
    activation = config.get("activation_function", "swish")
    if activation not in ACTIVATIONS:
        raise DataError(path, f"activation_function={activation!r} is not supported "
                              f"(only {sorted(ACTIVATIONS)})")  # fmt: skip
    return TransformerConfig(
        src_vocab_size=sizes[0], tgt_vocab_size=sizes[1], d_model=config["d_model"],
        n_heads=config["encoder_attention_heads"], encoder_layers=config["encoder_layers"],
        decoder_layers=config["decoder_layers"], ffn_dim=config["encoder_ffn_dim"],
        dropout=config.get("dropout", 0.1), attention_dropout=config.get("attention_dropout", 0.0),
        activation_dropout=config.get("activation_dropout", 0.0),
        share_embeddings=config.get("share_encoder_decoder_embeddings", True)
        and sizes[0] == sizes[1],
        tie_output_embeddings=config.get("tie_word_embeddings", True),
        max_positions=config.get("max_position_embeddings", 512),
        activation=ACTIVATIONS[activation], output_bias=True,
    )  # fmt: skip


def _read_weights(folder: Path) -> tuple[dict[str, Tensor], Path]:
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


def _our_weights(
    theirs: dict[str, Tensor], source_order: list[int], order: list[int], cfg: TransformerConfig
) -> dict[str, Tensor]:
    """Marian's weights under our names, the embeddings' rows in our order of each side's
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
    ours["decoder.output_proj.bias"] = bias.index_select(0, rows)
    if order[PAD_ID] == order[BOS_ID]:  # one Marian id twice: the pad column is left out
        ours["decoder.output_proj.bias"][PAD_ID] = LEFT_OUT
    for side, count in (("encoder", cfg.encoder_layers), ("decoder", cfg.decoder_layers)):
        for i in range(count):
            ours |= _layer(theirs, f"model.{side}.layers.{i}", f"{side}.layers.{i}", side)
    return ours


def _layer(theirs: dict[str, Tensor], p: str, q: str, side: str) -> dict[str, Tensor]:
    """One layer's weights: Marian's names at ``p``, ours at ``q``."""

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


def _languages(folder: Path, src_lang: str | None, tgt_lang: str | None) -> tuple[str, str]:
    """The languages given, else tokenizer_config.json's source_lang and target_lang."""
    path = folder / "tokenizer_config.json"
    stated = _read_json(path) if path.is_file() else {}
    src, tgt = src_lang or stated.get("source_lang"), tgt_lang or stated.get("target_lang")
    if not src or not tgt:
        raise DataError(path, "names no source_lang and target_lang: give --source-lang and "
                              "--target-lang")  # fmt: skip
    return src, tgt
