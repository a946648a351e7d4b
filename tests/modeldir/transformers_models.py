"""What the import tests do to the small transformers models they build."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import sentencepiece as spm
import torch
from torch import nn

from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.translator import Translator
from tests.data.corpus import sentence_pairs


def strong_cross_attention(model: nn.Module) -> None:
    """Random weights, in place, under which a small model's outputs differ by sentence:
    the default init makes random models repeat one token whatever the source."""
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            embedding = "shared" in name or "embed_tokens" in name
            parameter.normal_(0, 0.1 if embedding else 2.0 if "encoder_attn." in name else 0.2)
            if "layer_norm.weight" in name:
                parameter.fill_(1.0)


class OnlyEosAtTheLimit:
    """Our end at the length limit, and fairseq's, as a logits processor for ``generate``:
    eos keeps its log-probability, where transformers' forced eos gives it 0.

    Args:
        limit: output tokens before only eos is left.
        before: tokens the decoder reads before its output (its start; and a forced language
            token).
    """

    def __init__(self, limit: int, eos: int, *, before: int = 1) -> None:
        self.limit, self.eos, self.before = limit, eos, before

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if input_ids.size(1) - self.before < self.limit:
            return scores
        only_eos = torch.full_like(scores, -math.inf)
        only_eos[:, self.eos] = scores[:, self.eos]
        return only_eos


def assert_we_translate(
    texts: list[str], model_dir: Path, expected: list[str], *, beam: int, limit: int,
    direction: tuple[str | None, str | None] = (None, None),
) -> None:  # fmt: skip
    """Our translations of ``texts`` with the imported ``model_dir`` (in ``direction``: the
    source and target languages, None: the model's) are ``expected`` (what ``generate``
    gave), searching as it did: ``beam``, at most ``limit`` tokens, no length penalty; and
    they differ by sentence, so that the comparison says something."""
    options = DecodingOptions(beam_size=beam, alpha=0.0, max_len_a=0, max_len_b=limit)
    translator = Translator.load(model_dir).directed(*direction)
    found = translator.translate(texts, options=options)
    assert found == expected
    assert len(set(found)) > 1


def _spm(lines: list[str], prefix: Path) -> Path:
    """A SentencePiece model as Marian trains them: its own ids (unk 0, bos 1, eos 2, no pad)
    and NFKC normalization."""
    text = prefix.with_suffix(".txt")
    text.write_text("\n".join(lines) + "\n", encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(text), model_prefix=str(prefix), vocab_size=120, character_coverage=1.0,
        minloglevel=2, num_threads=1, hard_vocab_limit=False,
    )  # fmt: skip
    return prefix.with_suffix(".model")


def _marian_vocabulary(models: list[Path], *, at_least: int = 0) -> dict[str, int]:
    """vocab.json as Marian numbers it: eos 0, unk 1, the models' pieces, fillers up to
    ``at_least`` pieces, padding last."""
    pieces = []
    for model in models:
        processor = spm.SentencePieceProcessor(model_file=str(model))
        pieces += [processor.id_to_piece(i) for i in range(3, processor.vocab_size())]
    vocab = {"</s>": 0, "<unk>": 1} | {p: i + 2 for i, p in enumerate(dict.fromkeys(pieces))}
    while len(vocab) < at_least - 1:
        vocab[f"<filler{len(vocab)}>"] = len(vocab)
    return vocab | {"<pad>": len(vocab)}


def marian_folder(work: Path, *, separate: bool) -> Path:
    """An OPUS-MT-like MarianMTModel folder in ``work``, random weights, en -> fa: one
    vocab.json, or (``separate``: separate_vocabs) a target_vocab.json beside it."""
    import transformers

    pairs = sentence_pairs(200, seed=3)
    folder = work / "opus-mt-en-fa"
    folder.mkdir()
    sources = _spm([en for en, _ in pairs], work / "source")
    targets = _spm([fa for _, fa in pairs], work / "target")
    shutil.copyfile(sources, folder / "source.spm")
    shutil.copyfile(targets, folder / "target.spm")
    target = _marian_vocabulary([targets] if separate else [sources, targets])
    source = _marian_vocabulary([sources], at_least=len(target)) if separate else target
    for name, vocab in (("vocab.json", source), ("target_vocab.json", target)):
        (folder / name).write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"source_lang": "en", "target_lang": "fa", "separate_vocabs": separate})
    )
    config = transformers.MarianConfig(
        vocab_size=len(source), decoder_vocab_size=len(target), d_model=32, encoder_layers=2,
        decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4,
        encoder_ffn_dim=64, decoder_ffn_dim=64, activation_function="swish",
        max_position_embeddings=128, pad_token_id=len(target) - 1, eos_token_id=0,
        decoder_start_token_id=len(target) - 1, forced_eos_token_id=0, scale_embedding=True,
        share_encoder_decoder_embeddings=not separate, tie_word_embeddings=True,
    )  # fmt: skip
    torch.manual_seed(3)
    model = transformers.MarianMTModel(config).eval()
    strong_cross_attention(model)
    with torch.no_grad():
        model.final_logits_bias.normal_(0, 0.1)
    model.save_pretrained(folder)
    return folder
