"""Export a model directory to Hugging Face MarianMT (and from there, CTranslate2).

Our architecture is MarianMT's (post-LN, scaled tied embeddings, static [sin | cos] sinusoids
from position 0, ReLU or swish, an optional bias on the logits), so the export is a renaming
of weights: the fused Q/K/V and K/V projections are split into q_proj / k_proj / v_proj.
``transformers`` is an optional dependency (the ``peers`` extra), imported only here.
"""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
from pathlib import Path

from torch import Tensor

from seq2seq.common.errors import DataError
from seq2seq.common.languages import language_name
from seq2seq.common.special import BOS_ID, EOS_ID, NEVER_OUTPUT, PAD_ID
from seq2seq.data.tokenizer import Tokenizer
from seq2seq.export.vmap import write_vocabulary_map
from seq2seq.model import Transformer, TransformerConfig
from seq2seq.model.embedding import sinusoidal_table
from seq2seq.modeldir.format import LoadedModel
from seq2seq.modeldir.shortlist import Shortlist


def never_output_pieces(tokenizer: Tokenizer) -> list[list[str]]:
    """CTranslate2's ``suppress_sequences`` for the ids no search of ours outputs."""
    return [tokenizer.pieces([token]) for token in NEVER_OUTPUT]


def _attention(prefix: str, q: Tensor, k: Tensor, v: Tensor, qb, kb, vb, out) -> dict:
    return {
        f"{prefix}.q_proj.weight": q, f"{prefix}.k_proj.weight": k, f"{prefix}.v_proj.weight": v,
        f"{prefix}.q_proj.bias": qb, f"{prefix}.k_proj.bias": kb, f"{prefix}.v_proj.bias": vb,
        f"{prefix}.out_proj.weight": out.weight, f"{prefix}.out_proj.bias": out.bias,
    }  # fmt: skip


def _linear(prefix: str, module) -> dict:
    return {f"{prefix}.weight": module.weight, f"{prefix}.bias": module.bias}


def _output_bias(model: Transformer) -> Tensor:
    """(tgt_vocab,) the bias of the logits; zeros for a model without one."""
    projection = model.decoder.output_proj
    if projection.bias is not None:
        return projection.bias
    return projection.weight.new_zeros(model.cfg.tgt_vocab_size)


def marian_state_dict(model: Transformer) -> dict[str, Tensor]:
    """Our weights under MarianMTModel's names."""
    cfg = model.cfg
    positions = sinusoidal_table(cfg.max_positions, cfg.d_model)
    embed_src = model.encoder.embed.tokens.weight
    embed_tgt = model.decoder.embed.tokens.weight
    state = {
        "model.shared.weight": embed_src,
        "model.encoder.embed_tokens.weight": embed_src,
        "model.decoder.embed_tokens.weight": embed_tgt,
        "model.encoder.embed_positions.weight": positions,
        "model.decoder.embed_positions.weight": positions,
        "lm_head.weight": model.decoder.output_proj.weight,
        "final_logits_bias": _output_bias(model)[None],
    }
    for side, stack in (("encoder", model.encoder), ("decoder", model.decoder)):
        for i, layer in enumerate(stack.layers):
            p = f"model.{side}.layers.{i}"
            qkv = layer.self_attn.qkv_proj
            state |= _attention(
                f"{p}.self_attn", *qkv.weight.chunk(3), *qkv.bias.chunk(3), layer.self_attn.out_proj
            )
            state |= _linear(f"{p}.self_attn_layer_norm", layer.self_attn_residual.norm)
            state |= _linear(f"{p}.fc1", layer.ffn.w_1) | _linear(f"{p}.fc2", layer.ffn.w_2)
            state |= _linear(f"{p}.final_layer_norm", layer.ffn_residual.norm)
            if side == "decoder":
                cross = layer.cross_attn
                k, v = cross.kv_proj.weight.chunk(2)
                kb, vb = cross.kv_proj.bias.chunk(2)
                state |= _attention(
                    f"{p}.encoder_attn", cross.q_proj.weight, k, v, cross.q_proj.bias, kb, vb,
                    cross.out_proj,
                )  # fmt: skip
                state |= _linear(f"{p}.encoder_attn_layer_norm", layer.cross_attn_residual.norm)
    return {name: tensor.detach().clone().contiguous() for name, tensor in state.items()}


def marian_config(cfg: TransformerConfig):
    """A MarianConfig describing exactly our architecture, dropouts and special ids."""
    from transformers import MarianConfig

    if cfg.pre_norm or cfg.learned_positions or not cfg.tie_output_embeddings:
        raise ValueError("MarianMT has post-LN, sinusoidal positions and tied output embeddings")
    return MarianConfig(
        vocab_size=cfg.src_vocab_size,
        decoder_vocab_size=cfg.tgt_vocab_size,
        d_model=cfg.d_model,
        encoder_layers=cfg.encoder_layers,
        decoder_layers=cfg.decoder_layers,
        encoder_attention_heads=cfg.n_heads,
        decoder_attention_heads=cfg.n_heads,
        encoder_ffn_dim=cfg.ffn_dim,
        decoder_ffn_dim=cfg.ffn_dim,
        activation_function=cfg.activation,
        scale_embedding=True,
        share_encoder_decoder_embeddings=cfg.share_embeddings,
        tie_word_embeddings=True,
        max_position_embeddings=cfg.max_positions,
        pad_token_id=PAD_ID,
        eos_token_id=EOS_ID,
        bos_token_id=BOS_ID,
        decoder_start_token_id=BOS_ID,
        forced_eos_token_id=EOS_ID,
        dropout=cfg.dropout,
        attention_dropout=cfg.attention_dropout,
        activation_dropout=cfg.activation_dropout,
    )


def export_huggingface(loaded: LoadedModel, output: Path) -> Path:
    """Write a MarianMTModel directory (config, safetensors weights, tokenizer files)."""
    from transformers import MarianMTModel

    output = Path(output)
    model = MarianMTModel(marian_config(loaded.model.cfg)).eval()
    missing, unexpected = model.load_state_dict(marian_state_dict(loaded.model), strict=False)
    if unexpected or [m for m in missing if "embed_positions" not in m]:
        raise RuntimeError(f"weight names do not match MarianMTModel: {missing} {unexpected}")
    model.generation_config.decoder_start_token_id = BOS_ID
    model.generation_config.bad_words_ids = [[token] for token in NEVER_OUTPUT]
    model.save_pretrained(output)
    shutil.copyfile(loaded.spec.src_tokenizer, output / "source.spm")
    shutil.copyfile(loaded.spec.tgt_tokenizer, output / "target.spm")
    joint = loaded.spec.src_tokenizer == loaded.spec.tgt_tokenizer
    sides = [("vocab.json", loaded.src_tokenizer)]
    sides += [] if joint else [("target_vocab.json", loaded.tgt_tokenizer)]
    for name, tokenizer in sides:
        vocab = {tokenizer.pieces([i])[0]: i for i in range(tokenizer.vocab_size)}
        (output / name).write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tokenizer_config = {
        "tokenizer_class": "MarianTokenizer",
        "source_lang": loaded.spec.src_lang,
        "target_lang": loaded.spec.tgt_lang,
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "model_max_length": loaded.model.cfg.max_positions,
        "separate_vocabs": not joint,
    }
    (output / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2))
    return output


def _ct2_linear(spec, linear) -> None:
    spec.weight = linear.weight.detach()
    spec.bias = linear.bias.detach()


def _ct2_norm(spec, norm) -> None:
    spec.gamma = norm.weight.detach()
    spec.beta = norm.bias.detach()


def ctranslate2_spec(model: Transformer, *, src_vocab: list[str], tgt_vocab: list[str]):
    """A CTranslate2 TransformerSpec holding our weights (fused Q/K/V and K/V as ours).

    Args:
        src_vocab, tgt_vocab: the subword string of every id, in id order.
    """
    from ctranslate2.specs import common_spec, transformer_spec

    cfg = model.cfg
    spec = transformer_spec.TransformerSpec.from_config(
        (cfg.encoder_layers, cfg.decoder_layers), cfg.n_heads, pre_norm=cfg.pre_norm,
        activation=getattr(common_spec.Activation, cfg.activation.upper()),
    )  # fmt: skip
    for side, stack in ((spec.encoder, model.encoder), (spec.decoder, model.decoder)):
        side.scale_embeddings = cfg.d_model**0.5
        side.position_encodings.encodings = stack.embed.positions.table.detach()  # or learned
        embeddings = side.embeddings[0] if isinstance(side.embeddings, list) else side.embeddings
        embeddings.weight = stack.embed.tokens.weight.detach()
        if cfg.pre_norm:
            _ct2_norm(side.layer_norm, stack.final_norm)
        for layer_spec, layer in zip(side.layer, stack.layers, strict=True):
            _ct2_linear(layer_spec.self_attention.linear[0], layer.self_attn.qkv_proj)
            _ct2_linear(layer_spec.self_attention.linear[1], layer.self_attn.out_proj)
            _ct2_norm(layer_spec.self_attention.layer_norm, layer.self_attn_residual.norm)
            _ct2_linear(layer_spec.ffn.linear_0, layer.ffn.w_1)
            _ct2_linear(layer_spec.ffn.linear_1, layer.ffn.w_2)
            _ct2_norm(layer_spec.ffn.layer_norm, layer.ffn_residual.norm)
            if side is spec.decoder:
                _ct2_linear(layer_spec.attention.linear[0], layer.cross_attn.q_proj)
                _ct2_linear(layer_spec.attention.linear[1], layer.cross_attn.kv_proj)
                _ct2_linear(layer_spec.attention.linear[2], layer.cross_attn.out_proj)
                _ct2_norm(layer_spec.attention.layer_norm, layer.cross_attn_residual.norm)
    spec.decoder.projection.weight = model.decoder.output_proj.weight.detach()
    if model.cfg.output_bias:
        spec.decoder.projection.bias = model.decoder.output_proj.bias.detach()
    spec.register_source_vocabulary(src_vocab)
    spec.register_target_vocabulary(tgt_vocab)
    spec.config.add_source_eos = True
    spec.config.layer_norm_epsilon = cfg.layer_norm_eps
    spec.config.bos_token, spec.config.eos_token = "<s>", "</s>"
    spec.config.unk_token, spec.config.decoder_start_token = "<unk>", "<s>"
    return spec


def export_ctranslate2(
    loaded: LoadedModel,
    output: Path,
    *,
    quantization: str | None = None,
    shortlist: Shortlist | None = None,
) -> Path:
    """Write a CTranslate2 model directory (``quantization``: None, "int8", "int16", ...),
    with ``shortlist`` as its vocabulary map (``vmap.txt``, for ``use_vmap=True``). A
    multilingual model's sources start with their language's tag and its translations take
    the target's as ``target_prefix``, as CTranslate2's own NLLB conversions do."""
    output = Path(output)
    src_vocab, tgt_vocab = loaded.src_tokenizer.all_pieces(), loaded.tgt_tokenizer.all_pieces()
    spec = ctranslate2_spec(
        copy.deepcopy(loaded.model),  # the spec shares the tensors and quantizes them in place
        src_vocab=src_vocab, tgt_vocab=tgt_vocab,
    )  # fmt: skip
    spec.validate()
    spec.optimize(quantization=quantization)
    output.mkdir(parents=True, exist_ok=True)
    spec.save(str(output))
    shutil.copyfile(loaded.spec.src_tokenizer, output / "source.spm")
    shutil.copyfile(loaded.spec.tgt_tokenizer, output / "target.spm")
    if shortlist is not None:
        write_vocabulary_map(shortlist, output, src_pieces=src_vocab, tgt_pieces=tgt_vocab)
    return output


ARGOS_VERSION = "1.9.0"  # the package format's version that argostranslate 1.9-1.11 read


def export_argos(loaded: LoadedModel, output: Path, *, quantization: str | None = None) -> Path:
    """Write an Argos Translate package, ``output/translate-SRC_TGT.argosmodel``: a zip of one
    folder holding ``metadata.json``, ``model/`` (the CTranslate2 export) and
    ``sentencepiece.model``, which argostranslate installs and LibreTranslate serves.

    Raises:
        DataError: the model has a tokenizer per side, which a package cannot hold; or it
            writes a language tag first, which argostranslate does not give.
    """
    spec = loaded.spec
    if spec.tgt_tag is not None:
        raise DataError(spec.tgt_tokenizer, "an Argos package cannot hold a model that starts "
                        "its output with a language tag")  # fmt: skip
    if Path(spec.src_tokenizer).read_bytes() != Path(spec.tgt_tokenizer).read_bytes():
        raise DataError(spec.tgt_tokenizer, "an Argos package holds one SentencePiece model for "
                        "both sides, and this model has one per side")  # fmt: skip
    name = f"translate-{spec.src_lang}_{spec.tgt_lang}"
    metadata = {
        "package_version": "1.0", "argos_version": ARGOS_VERSION, "type": "translate",
        "from_code": spec.src_lang, "to_code": spec.tgt_lang,
        "from_name": language_name(spec.src_lang), "to_name": language_name(spec.tgt_lang),
        "package_name": name, "description": "exported by seq2seq",
    }  # fmt: skip
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / name
        export_ctranslate2(loaded, folder / "model", quantization=quantization)
        shutil.copyfile(spec.src_tokenizer, folder / "sentencepiece.model")
        (folder / "metadata.json").write_text(json.dumps(metadata, indent=2), encoding="utf-8")
        archive = shutil.make_archive(str(Path(work) / name), "zip", work, name)
        return Path(shutil.move(archive, output / f"{name}.argosmodel"))
