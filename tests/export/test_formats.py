"""The Hugging Face export: MarianMTModel computes what our model computes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch.testing import assert_close

from seq2seq.common.special import EOS_ID
from seq2seq.inference.search.stepwise import greedy_search
from seq2seq.inference.translator import Translator
from seq2seq.model import Transformer
from seq2seq.modeldir.format import load_model_dir, save_model_dir

transformers = pytest.importorskip("transformers")

from seq2seq.export.formats import export_huggingface  # noqa: E402
from seq2seq.inference.options import DecodingOptions  # noqa: E402
from seq2seq.inference.search.scorers import ModelScorer  # noqa: E402


@pytest.fixture(scope="module")
def exported(model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    loaded = load_model_dir(model_dir)
    out = export_huggingface(loaded, tmp_path_factory.mktemp("hf") / "marian")
    hf = transformers.MarianMTModel.from_pretrained(out).eval()
    return loaded, hf, out


def test_marian_gives_our_logits(exported) -> None:
    loaded, hf, _ = exported
    src = torch.tensor([[10, 11, 12, EOS_ID], [13, 14, EOS_ID, 0]])
    prev = torch.tensor([[2, 20, 21, 22], [2, 23, 0, 0]])
    ours = loaded.model(src, prev)
    theirs = hf(input_ids=src, attention_mask=src.ne(0).long(), decoder_input_ids=prev).logits
    assert_close(theirs[0], ours[0], atol=1e-4, rtol=1e-4)
    assert_close(theirs[1, :2], ours[1, :2], atol=1e-4, rtol=1e-4)


def test_marian_greedy_generation_equals_ours(exported) -> None:
    loaded, hf, _ = exported
    src = torch.tensor([[10, 11, 12, EOS_ID], [15, 16, 17, EOS_ID]])
    ours = greedy_search(
        ModelScorer(loaded.model),
        src,
        options=DecodingOptions(beam_size=1, max_len_a=0, max_len_b=7),
    )
    # Marian forces eos as its 8th new token where ours stops after 7 without one.
    generated = hf.generate(
        input_ids=src, attention_mask=src.ne(0).long(), num_beams=1, do_sample=False,
        max_new_tokens=8, min_new_tokens=0,
    )  # fmt: skip
    theirs = [[t for t in row.tolist()[1:] if t not in (0, EOS_ID)] for row in generated]
    assert theirs == ours


def test_marian_tokenizer_encodes_like_ours(exported) -> None:
    loaded, _, out = exported
    tokenizer = transformers.MarianTokenizer.from_pretrained(out)
    text = "the red book is on the green table"
    ours = loaded.src_tokenizer.encode([text])[0] + [EOS_ID]
    assert tokenizer(text).input_ids == ours


def test_ctranslate2_greedy_translation_equals_ours(model_dir: Path, tmp_path: Path) -> None:
    ctranslate2 = pytest.importorskip("ctranslate2")
    from seq2seq.export.formats import export_ctranslate2

    loaded = load_model_dir(model_dir)
    translator = ctranslate2.Translator(str(export_ctranslate2(loaded, tmp_path / "ct2")))
    texts = ["red book", "the big green house is old", "cat tree"]
    ids = loaded.src_tokenizer.encode(texts)
    results = translator.translate_batch(
        [loaded.src_tokenizer.pieces(row) for row in ids], beam_size=1, max_decoding_length=8
    )
    theirs = loaded.tgt_tokenizer.decode_pieces([r.hypotheses[0] for r in results])
    width = max(map(len, ids)) + 1
    src = torch.tensor([row + [EOS_ID] + [0] * (width - 1 - len(row)) for row in ids])
    ours = loaded.tgt_tokenizer.decode(
        greedy_search(
            ModelScorer(loaded.model),
            src,
            options=DecodingOptions(beam_size=1, max_len_a=0, max_len_b=8),
        )
    )
    assert theirs == ours


@pytest.mark.parametrize(
    "options",
    [{"pre_norm": True, "learned_positions": True},
     {"activation": "swish", "layer_norm_eps": 1e-2, "output_bias": True}],
    ids=["pre-ln-learned-positions", "swish-eps-output-bias"],
)  # fmt: skip
def test_ctranslate2_scores_as_ours_with_the_architecture_options(
    model_dir: Path, tmp_path: Path, options: dict
) -> None:
    """Forced scores of the export equal ours for the options a model may be trained or
    imported with: its own position table, LayerNorm epsilon, activation and output bias."""
    ctranslate2 = pytest.importorskip("ctranslate2")
    from seq2seq.export.formats import export_ctranslate2

    loaded = load_model_dir(model_dir)
    model = Transformer(replace(loaded.model.cfg, **options)).eval()
    if model.cfg.output_bias:
        with torch.no_grad():
            model.decoder.output_proj.bias.normal_()
    variant = load_model_dir(save_model_dir(tmp_path / "model", model, loaded.spec, {}))
    sources, targets = ["the red book is on the green table", "cat tree"], ["کتاب قرمز", "درخت"]
    ours = Translator(variant).score(sources, targets)
    src = [variant.src_tokenizer.pieces(ids) for ids in variant.src_tokenizer.encode(sources)]
    normalized = [variant.tgt_normalizer(text) for text in targets]
    tgt = [variant.tgt_tokenizer.pieces(ids) for ids in variant.tgt_tokenizer.encode(normalized)]
    exported = ctranslate2.Translator(str(export_ctranslate2(variant, tmp_path / "ct2")))
    theirs = [sum(result.log_probs) for result in exported.score_batch(src, tgt)]
    assert theirs == pytest.approx([score.log_prob for score in ours], abs=1e-4)


def test_an_int8_ctranslate2_export_leaves_our_weights_alone(model_dir: Path, tmp_path) -> None:
    pytest.importorskip("ctranslate2")
    from seq2seq.export.formats import export_ctranslate2

    loaded = load_model_dir(model_dir)
    before = {name: tensor.clone() for name, tensor in loaded.model.state_dict().items()}
    export_ctranslate2(loaded, tmp_path / "ct2", quantization="int8")
    for name, tensor in loaded.model.state_dict().items():
        assert torch.equal(tensor, before[name]), name
