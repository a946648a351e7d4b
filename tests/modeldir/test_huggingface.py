"""seq2seq-import: a MarianMTModel folder, built here with transformers the way OPUS-MT's are
laid out (eos 0, unk 1, padding last and the decoder's start, swish, a logits bias, one
SentencePiece model per side numbered through vocab.json), computes and tokenizes as
transformers does once imported."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from seq2seq.common.special import BOS_ID, EOS_ID, PAD_ID, UNK_ID
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.translator import Translator
from seq2seq.modeldir.format import load_model_dir
from tests.cli.test_train_cli import SMALL_DEMO, paths_under
from tests.helpers import run_command
from tests.modeldir.transformers_models import (
    OnlyEosAtTheLimit,
    assert_we_translate,
    marian_folder,
)

transformers = pytest.importorskip("transformers")

from seq2seq.export.formats import export_huggingface  # noqa: E402
from seq2seq.modeldir.huggingface import import_huggingface  # noqa: E402

ZWNJ = "\u200c"
TEXTS = {
    "en": [
        "The three red books are here, aren't they?",
        "In 2024 she paid 1,250.75 dollars (about 40%)!",
        "Unknown: \u2603 \U0001f600 \u0916 end.",
    ],
    "fa": [
        f"کتاب{ZWNJ}ها روی میز هستند.",
        "در سال ۱۴۰۳ او ۲۵۰ تومان داد؛ درست است؟",
        f"می{ZWNJ}خواهم \u2603 بنویسم «سلام»!",
    ],
}


@pytest.fixture(scope="module", params=["joint", "separate"])
def marian_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An OPUS-MT-like MarianMTModel folder, random weights, en -> fa: one vocab.json, or
    (separate_vocabs) a target_vocab.json beside it."""
    return marian_folder(tmp_path_factory.mktemp("marian"), separate=request.param == "separate")


@pytest.fixture(scope="module")
def imported(marian_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return import_huggingface(marian_dir, tmp_path_factory.mktemp("ours") / "model")


def _hf(folder: Path):
    model = transformers.MarianMTModel.from_pretrained(folder).eval()
    model.config.marian_dir = str(folder)  # where _order finds vocab.json
    return model, transformers.MarianTokenizer.from_pretrained(folder)


def test_imported_logits_are_marian_s(marian_dir: Path, imported: Path) -> None:
    theirs, tokenizer = _hf(marian_dir)
    loaded = load_model_dir(imported)
    src = tokenizer(TEXTS["en"][:2], return_tensors="pt", padding=True)
    target = tokenizer(text_target=TEXTS["fa"][:2], return_tensors="pt", padding=True)
    pad = theirs.config.pad_token_id  # the tokenizer pads with the source's (separate_vocabs)
    labels = target.input_ids.masked_fill(~target.attention_mask.bool(), pad)
    start = torch.full((2, 1), theirs.config.decoder_start_token_id)
    prev = torch.cat([start, labels[:, :-1]], 1)
    with torch.no_grad():
        expected = theirs(**src, decoder_input_ids=prev).logits
    ours_src = _ours(loaded, src.input_ids, theirs.config, "src")
    ours_prev = _ours(loaded, prev, theirs.config, "tgt", start=True)
    with torch.no_grad():
        found = loaded.model(ours_src, ours_prev)
    columns = torch.tensor(_order(loaded, theirs.config, "tgt"))
    real = target.attention_mask.bool()
    difference = (found[:, :, 1:] - expected[:, :, columns[1:]]).abs()[real]
    assert float(difference.max()) <= 1e-4
    # our pad column leaves Marian's softmax as it is: equal log-probabilities
    found_lp = found.log_softmax(-1)[:, :, 1:]
    expected_lp = expected.log_softmax(-1)[:, :, columns[1:]]
    assert float((found_lp - expected_lp).abs()[real].max()) <= 1e-4


def _order(loaded, config, side: str) -> list[int]:
    """Marian's id of each of our ids of ``side`` ("src" or "tgt"), through the two
    vocabularies."""
    ours = loaded.spec.src_vocabulary if side == "src" else loaded.spec.tgt_vocabulary
    vocab = json.loads(Path(ours).read_text(encoding="utf-8"))
    separate = loaded.spec.src_vocabulary != loaded.spec.tgt_vocabulary
    name = "target_vocab.json" if side == "tgt" and separate else "vocab.json"
    marian = json.loads((Path(config.marian_dir) / name).read_text(encoding="utf-8"))
    if side == "src" and separate:
        special = [marian["<pad>"], marian["<unk>"], marian["<pad>"], marian["</s>"]]
    else:
        special = [config.pad_token_id, marian["<unk>"], config.decoder_start_token_id, 0]
    return special + [marian[piece] for piece in vocab[4:]]


def _ours(loaded, ids: torch.Tensor, config, side: str, *, start: bool = False) -> torch.Tensor:
    """Marian's ids (batch, len) of ``side`` as ours; padding (and, with ``start``, the first
    column's decoder start) mapped to pad and bos."""
    order = _order(loaded, config, side)
    inverse = {marian: ours for ours, marian in enumerate(order) if ours != BOS_ID}
    mapped = ids.clone().apply_(lambda i: inverse[i])
    if start:
        mapped[:, 0] = BOS_ID
    return mapped


@pytest.mark.parametrize("beam", [1, 4])
def test_imported_translations_are_generate_s(marian_dir: Path, imported: Path, beam) -> None:
    theirs, tokenizer = _hf(marian_dir)
    theirs.generation_config.forced_eos_token_id = None  # OnlyEosAtTheLimit instead
    limit = 12
    texts = [*TEXTS["en"], "A cat.", "Where is the big house?", "Yes"]
    src = tokenizer(texts, return_tensors="pt", padding=True)
    at_limit = transformers.LogitsProcessorList([OnlyEosAtTheLimit(limit, eos=0)])
    with torch.no_grad():
        generated = theirs.generate(
            **src, num_beams=beam, do_sample=False, max_new_tokens=limit + 1, length_penalty=0.0,
            bad_words_ids=[[theirs.config.pad_token_id]], early_stopping=False,
            logits_processor=at_limit,
        )  # fmt: skip
    # the decoder's start is not output (MarianTokenizer would write it with separate_vocabs)
    expected = tokenizer.batch_decode(generated[:, 1:], skip_special_tokens=True)
    assert_we_translate(texts, imported, expected, beam=beam, limit=limit)


def test_the_tokenizers_are_marian_s(marian_dir: Path, imported: Path) -> None:
    theirs, tokenizer = _hf(marian_dir)
    loaded = load_model_dir(imported)
    config = theirs.config
    for lang, side, ours in (
        ("en", "src", loaded.src_tokenizer),
        ("fa", "tgt", loaded.tgt_tokenizer),
    ):
        if side == "src":
            theirs = tokenizer(TEXTS[lang]).input_ids
        else:
            theirs = tokenizer(text_target=TEXTS[lang]).input_ids
        found = ours.encode(TEXTS[lang])
        assert [_ours(loaded, torch.tensor([row]), config, side)[0].tolist() for row in theirs] == [
            [*row, EOS_ID] for row in found
        ]
        assert any(UNK_ID in row for row in found)  # the unknown characters are there
    targets = tokenizer(text_target=TEXTS["fa"]).input_ids
    expected = tokenizer.batch_decode(targets, skip_special_tokens=True)
    assert loaded.tgt_tokenizer.decode(loaded.tgt_tokenizer.encode(TEXTS["fa"])) == expected


def test_our_export_imported_back_is_the_original(model_dir: Path, tmp_path: Path) -> None:
    original = load_model_dir(model_dir)
    exported = export_huggingface(original, tmp_path / "hf")
    back = load_model_dir(import_huggingface(exported, tmp_path / "back"))
    texts = ["The three red books are here.", "A cat sat on the mat."]
    assert back.src_tokenizer.encode(texts) == original.src_tokenizer.encode(texts)
    src = torch.tensor([[10, 11, 12, EOS_ID], [13, 14, EOS_ID, PAD_ID]])
    prev = torch.tensor([[BOS_ID, 20, 21, 22], [BOS_ID, 23, PAD_ID, PAD_ID]])
    with torch.no_grad():
        assert torch.allclose(back.model(src, prev), original.model(src, prev), atol=1e-5)
    options = DecodingOptions(beam_size=3, max_len_b=10)
    assert Translator(back).translate(texts, options=options) == Translator(original).translate(
        texts, options=options
    )


def test_pytorch_model_bin_is_read_without_pickle(marian_dir: Path, tmp_path: Path) -> None:
    folder = shutil.copytree(marian_dir, tmp_path / "bin")
    model, _ = _hf(marian_dir)
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    ours = load_model_dir(import_huggingface(folder, tmp_path / "model"))
    assert torch.equal(
        ours.model.encoder.layers[0].ffn.w_1.weight, model.model.encoder.layers[0].fc1.weight
    )
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04not a pickle of tensors")
    result = run_command("seq2seq-import", "huggingface", str(folder), "-o", "m", cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0 and "pytorch_model.bin" in result.stderr


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"normalize_before": True}, "normalize_before"),
        ({"decoder_ffn_dim": 128}, "decoder_ffn_dim"),
        ({"activation_function": "gelu_new"}, "activation_function"),
        ({"model_type": "t5"}, "model_type"),
    ],
)
def test_what_we_cannot_express_is_one_line_naming_it(
    marian_dir: Path, tmp_path: Path, change: dict, named: str
) -> None:
    folder = shutil.copytree(marian_dir, tmp_path / "hf")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(config | change))
    result = run_command("seq2seq-import", "huggingface", str(folder), "-o", "m", cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert named in result.stderr and "config.json" in result.stderr
    assert not (tmp_path / "m").exists()


# what the imported model's tokenizers do to text: nothing (the SentencePiece models normalize)
AS_IMPORTED = [f"data.normalization.{lang}={{unicode_form: null, persian: false, digits: keep}}"
               for lang in ("en", "fa")]  # fmt: skip


def test_fine_tuning_an_imported_model_keeps_its_tokenizers(imported: Path, tmp_path: Path) -> None:
    args = [*SMALL_DEMO, "model=from_init", f"init_from={imported}", *AS_IMPORTED,
            "trainer.max_steps=3", "test_after_training=false"]  # fmt: skip
    result = run_command("seq2seq-train", *paths_under(tmp_path), *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    tuned, start = load_model_dir(tmp_path / "run" / "model"), load_model_dir(imported)
    assert tuned.model.cfg == replace(start.model.cfg, dropout=0.1)  # the architecture is its
    assert tuned.tgt_tokenizer.all_pieces() == start.tgt_tokenizer.all_pieces()
    texts = TEXTS["fa"]
    assert tuned.tgt_tokenizer.encode(texts) == start.tgt_tokenizer.encode(texts)
    weights = tuned.model.decoder.layers[0].ffn.w_1.weight
    assert not torch.equal(weights, start.model.decoder.layers[0].ffn.w_1.weight)


def test_model_from_init_needs_init_from(tmp_path: Path) -> None:
    args = [*paths_under(tmp_path), *SMALL_DEMO, "model=from_init", "trainer.max_steps=1"]
    result = run_command("seq2seq-train", *args, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "set init_from" in result.stderr


def test_ctranslate2_translates_an_imported_model_as_we_do(imported: Path, tmp_path: Path) -> None:
    """The CTranslate2 conversion carries swish, the logits' bias and the pad column left out."""
    (tmp_path / "in.en").write_text("\n".join([*TEXTS["en"], "A cat.", "Yes"]) + "\n")

    def translate(engine: str) -> list[str]:
        greedy = ("--beam", "1", "--max-len-a", "0", "--max-len-b", "12")
        result = run_command("seq2seq-translate", "-m", str(imported), "-i", "in.en",
                             "--engine", engine, *greedy, cwd=tmp_path)  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    found = translate("ctranslate2")
    assert found == translate("torch") and len(set(found)) > 1
