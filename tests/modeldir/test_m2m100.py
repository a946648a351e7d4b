"""seq2seq-import of an M2M100ForConditionalGeneration folder, built here with transformers as
M2M-100's are laid out (vocab.json and sentencepiece.bpe.model; the language tokens after the
vocabulary; pre-LN, fairseq's sinusoids, the decoder starting from eos and then the target
language's token): one direction, computing and tokenizing as transformers does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sentencepiece as spm
import torch

from seq2seq.common.special import BOS_ID, EOS_ID
from seq2seq.data.tokenizer import LANGUAGE_TAG
from seq2seq.inference.translator import Translator
from seq2seq.modeldir.format import load_model_dir
from tests.data.corpus import sentence_pairs
from tests.helpers import run_command
from tests.modeldir.transformers_models import (
    OnlyEosAtTheLimit,
    assert_we_translate,
    strong_cross_attention,
)

transformers = pytest.importorskip("transformers")

from seq2seq.modeldir.huggingface import import_huggingface  # noqa: E402

TEXTS = {
    "en": ["The three red books are here, aren't they?", "In 2024 she paid 1,250 dollars!"],
    "fa": ["کتاب\u200cها روی میز هستند.", "در سال ۱۴۰۳ او ۲۵۰ تومان داد؛ درست است؟"],
}
SOURCES = [*TEXTS["en"], "A cat.", "Where is the big house?", "Yes", "Unknown: \u2603 end."]


@pytest.fixture(scope="module")
def m2m_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small M2M-100 folder, random weights."""
    work = tmp_path_factory.mktemp("m2m")
    folder = work / "m2m100"
    folder.mkdir()
    text = work / "text.txt"
    text.write_text("".join(f"{en}\n{fa}\n" for en, fa in sentence_pairs(200, seed=3)))
    spm.SentencePieceTrainer.train(
        input=str(text), model_prefix=str(work / "sp"), vocab_size=200, model_type="bpe",
        character_coverage=1.0, minloglevel=2, num_threads=1, hard_vocab_limit=False,
    )  # fmt: skip
    shutil.copyfile(work / "sp.model", folder / "sentencepiece.bpe.model")
    processor = spm.SentencePieceProcessor(model_file=str(work / "sp.model"))
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for index in range(3, processor.vocab_size()):
        vocab.setdefault(processor.id_to_piece(index), len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tokenizer = transformers.M2M100Tokenizer(
        vocab_file=str(folder / "vocab.json"), spm_file=str(folder / "sentencepiece.bpe.model"),
        src_lang="en", tgt_lang="fa",
    )  # fmt: skip
    tokenizer.save_pretrained(folder)
    config = transformers.M2M100Config(
        vocab_size=len(vocab) + 100 + 8, d_model=32, encoder_layers=2, decoder_layers=2,
        encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64,
        decoder_ffn_dim=64, max_position_embeddings=64, scale_embedding=True,
    )  # fmt: skip
    torch.manual_seed(3)
    model = transformers.M2M100ForConditionalGeneration(config).eval()
    strong_cross_attention(model)
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def imported(m2m_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ours") / "model"
    return import_huggingface(m2m_dir, out, src_lang="en", tgt_lang="fa")


def without_tags(texts: list[str]) -> list[str]:
    """Texts without language tokens. M2M100Tokenizer skips them as special tokens where the
    folder lists them so (M2M-100's own files do); transformers 5.25 saves a folder that does
    not, and then writes them out."""
    return [LANGUAGE_TAG.sub("", text).strip() for text in texts]


def _hf(folder: Path):
    model = transformers.M2M100ForConditionalGeneration.from_pretrained(folder).eval()
    tokenizer = transformers.M2M100Tokenizer.from_pretrained(folder, src_lang="en", tgt_lang="fa")
    return model, tokenizer


def _ours(ids: list[int], loaded, tokenizer) -> list[int]:
    """transformers' ids as ours: through the pieces (their eos is our eos)."""
    ours = loaded.src_tokenizer
    pieces = tokenizer.convert_ids_to_tokens(ids)
    return [EOS_ID if i == tokenizer.eos_token_id else ours.id_of(piece)
            for i, piece in zip(ids, pieces, strict=True)]  # fmt: skip


def test_imported_logits_are_m2m100_s(m2m_dir: Path, imported: Path) -> None:
    theirs, tokenizer = _hf(m2m_dir)
    loaded = load_model_dir(imported)
    src, target = tokenizer(TEXTS["en"][0]).input_ids, tokenizer(text_target=TEXTS["fa"][0])
    prev = [theirs.config.decoder_start_token_id, *target.input_ids[:-1]]  # eos, __fa__, ...
    with torch.no_grad():
        expected = theirs(input_ids=torch.tensor([src]), decoder_input_ids=torch.tensor([prev]))
        ours_prev = [BOS_ID, *_ours(prev[1:], loaded, tokenizer)]
        found = loaded.model(
            torch.tensor([_ours(src, loaded, tokenizer)]), torch.tensor([ours_prev])
        )
    vocabulary = json.loads(Path(loaded.spec.tgt_vocabulary).read_text(encoding="utf-8"))
    columns = [  # fairseq's filler words are unk to the tokenizer: their ids are in their names
        int(piece.removeprefix("madeupword")) if piece.startswith("madeupword")
        else tokenizer.convert_tokens_to_ids(piece)
        for piece in vocabulary
    ]  # fmt: skip
    columns[0], columns[3] = theirs.config.pad_token_id, tokenizer.eos_token_id
    kept = [i for i in range(len(columns)) if i != BOS_ID]  # our bos: eos's copy, left out
    logits = expected.logits[0][:, [columns[i] for i in kept]]
    assert float((found[0][:, kept] - logits).abs().max()) <= 1e-4
    log_probs = expected.logits[0].log_softmax(-1)[:, [columns[i] for i in kept]]
    assert float((found[0].log_softmax(-1)[:, kept] - log_probs).abs().max()) <= 1e-4


@pytest.mark.parametrize("beam", [1, 4])
def test_imported_translations_are_generate_s(m2m_dir: Path, imported: Path, beam: int) -> None:
    theirs, tokenizer = _hf(m2m_dir)
    theirs.generation_config.forced_eos_token_id = None  # OnlyEosAtTheLimit instead
    limit = 10
    src = tokenizer(SOURCES, return_tensors="pt", padding=True)
    at_limit = transformers.LogitsProcessorList(
        [OnlyEosAtTheLimit(limit, tokenizer.eos_token_id, before=2)]
    )
    with torch.no_grad():
        generated = theirs.generate(
            **src, num_beams=beam, do_sample=False, max_new_tokens=limit + 2, length_penalty=0.0,
            forced_bos_token_id=tokenizer.get_lang_id("fa"), early_stopping=False,
            bad_words_ids=[[theirs.config.pad_token_id]], logits_processor=at_limit,
        )  # fmt: skip
    expected = without_tags(tokenizer.batch_decode(generated, skip_special_tokens=True))
    assert_we_translate(SOURCES, imported, expected, beam=beam, limit=limit)


def test_the_source_starts_with_its_language_token(m2m_dir: Path, imported: Path) -> None:
    _, tokenizer = _hf(m2m_dir)
    loaded = load_model_dir(imported)
    theirs = tokenizer(SOURCES).input_ids
    assert [_ours(row, loaded, tokenizer) for row in theirs] == [
        [*row, EOS_ID] for row in loaded.src_tokenizer.encode(SOURCES)
    ]
    assert loaded.src_tokenizer.encode(["A"])[0][0] == loaded.src_tokenizer.id_of("__en__")
    targets = tokenizer(text_target=TEXTS["fa"]).input_ids
    expected = without_tags(tokenizer.batch_decode(targets, skip_special_tokens=True))
    ids = [_ours(row, loaded, tokenizer) for row in targets]
    assert loaded.tgt_tokenizer.decode(ids) == expected


def test_a_translation_scores_as_m2m100_scores_it(m2m_dir: Path, imported: Path) -> None:
    """Forced scoring reads the target's language token first and does not score it."""
    theirs, tokenizer = _hf(m2m_dir)
    labels = tokenizer(text_target=TEXTS["fa"][0]).input_ids  # __fa__, pieces, eos
    src = tokenizer(TEXTS["en"][0], return_tensors="pt").input_ids
    prev = torch.tensor([[theirs.config.decoder_start_token_id, *labels[:-1]]])
    with torch.no_grad():
        log_probs = theirs(input_ids=src, decoder_input_ids=prev).logits[0].log_softmax(-1)
    expected = float(log_probs[1:].gather(1, torch.tensor(labels[1:])[:, None]).sum())
    (found,) = Translator.load(imported).score(TEXTS["en"][:1], TEXTS["fa"][:1])
    assert found.log_prob == pytest.approx(expected, abs=1e-4)
    assert len(found.token_probs) == len(labels) - 1  # the pieces and eos, not the tag


def test_what_a_tagged_model_cannot_do_yet_is_one_line(imported: Path, tmp_path: Path) -> None:
    (tmp_path / "in.en").write_text("A cat.\n")
    auto = run_command("seq2seq-translate", "-m", str(imported), "-i", "in.en", cwd=tmp_path)
    assert auto.returncode == 0, auto.stderr  # --engine auto: our decoder
    for command in (
        ["seq2seq-translate", "-m", str(imported), "-i", "in.en", "--engine", "ctranslate2"],
        ["seq2seq-export", "-m", str(imported), "--to", "ctranslate2", "-o", "ct2"],
    ):
        result = run_command(*command, cwd=tmp_path)
        assert result.returncode != 0, command
        assert result.stderr.strip().count("\n") == 0 and "language tag" in result.stderr


def test_an_unknown_language_names_the_known_ones(m2m_dir: Path, tmp_path: Path) -> None:
    args = ["huggingface", str(m2m_dir), "-o", "m", "--source-lang", "en", "--target-lang", "xx"]
    result = run_command("seq2seq-import", *args, cwd=tmp_path)
    assert result.returncode == 1
    assert "no language 'xx'" in result.stderr and "'fa'" in result.stderr
