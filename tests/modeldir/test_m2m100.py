"""seq2seq-import of M2M100ForConditionalGeneration folders, built here with transformers as
the hub lays them out: M2M-100's (vocab.json and sentencepiece.bpe.model, the language tokens
after the vocabulary) and NLLB-200's (tokenizer.json: fairseq's dictionary, FLORES-200 codes).
Both are pre-LN with fairseq's sinusoids, their decoder starting from eos and then the target
language's token; imported, they compute and tokenize as transformers does."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import sentencepiece as spm
import torch
from omegaconf import OmegaConf

from seq2seq.common.errors import ConfigError
from seq2seq.common.special import BOS_ID, EOS_ID
from seq2seq.data.prepare import PreparedData
from seq2seq.data.tokenizer import LANGUAGE_TAG
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.translator import Translator
from seq2seq.modeldir.format import DATA, load_model_dir
from seq2seq.modeldir.shortlist import save_shortlist
from tests.cli.test_train_cli import SMALL_DEMO, train
from tests.data.corpus import sentence_pairs
from tests.helpers import run_command
from tests.modeldir.shortlists import random_shortlist
from tests.modeldir.test_huggingface import AS_IMPORTED
from tests.modeldir.transformers_models import (
    OnlyEosAtTheLimit,
    assert_we_translate,
    strong_cross_attention,
)
from tests.serve.conftest import DEFAULT, make_client

transformers = pytest.importorskip("transformers")

from seq2seq.modeldir.huggingface import import_huggingface  # noqa: E402

TEXTS = {
    "en": ["The three red books are here, aren't they?", "In 2024 she paid 1,250 dollars!"],
    "fa": ["کتاب\u200cها روی میز هستند.", "در سال ۱۴۰۳ او ۲۵۰ تومان داد؛ درست است؟"],
}
SOURCES = [*TEXTS["en"], "A cat.", "Where is the big house?", "Yes", "Unknown: \u2603 end."]


@dataclass(frozen=True)
class Family:
    """A model family: its name, and English's and Persian's codes and tokens in it."""

    name: str
    en: str
    fa: str
    en_tag: str
    fa_tag: str


M2M100 = Family("m2m100", "en", "fa", "__en__", "__fa__")
NLLB = Family("nllb", "eng_Latn", "pes_Arab", "eng_Latn", "pes_Arab")


@pytest.fixture(scope="module", params=[M2M100, NLLB], ids=lambda family: family.name)
def family(request: pytest.FixtureRequest) -> Family:
    return request.param


@pytest.fixture(scope="module")
def m2m_dir(family: Family, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small folder of the family, random weights."""
    work = tmp_path_factory.mktemp(family.name)
    folder = work / family.name
    folder.mkdir()
    text = work / "text.txt"
    lines = [*(f"{en}\n{fa}\n" for en, fa in sentence_pairs(200, seed=3)), *TEXTS["fa"]]
    text.write_text("".join(lines))
    spm.SentencePieceTrainer.train(
        input=str(text), model_prefix=str(work / "sp"), vocab_size=200, model_type="bpe",
        character_coverage=1.0, minloglevel=2, num_threads=1, hard_vocab_limit=False,
    )  # fmt: skip
    shutil.copyfile(work / "sp.model", folder / "sentencepiece.bpe.model")
    vocab_size = (_nllb_tokenizer if family is NLLB else _m2m100_tokenizer)(folder)
    config = transformers.M2M100Config(
        vocab_size=vocab_size, d_model=32, encoder_layers=2, decoder_layers=2,
        encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64,
        decoder_ffn_dim=64, max_position_embeddings=64, scale_embedding=True,
    )  # fmt: skip
    torch.manual_seed(3)
    model = transformers.M2M100ForConditionalGeneration(config).eval()
    strong_cross_attention(model)
    model.save_pretrained(folder)
    return folder


def _m2m100_tokenizer(folder: Path) -> int:
    """M2M-100's tokenizer files in ``folder`` (beside its SentencePiece model); the model's
    vocabulary size: vocab.json's, 100 languages, fairseq's filler words."""
    processor = spm.SentencePieceProcessor(model_file=str(folder / "sentencepiece.bpe.model"))
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for index in range(3, processor.vocab_size()):
        vocab.setdefault(processor.id_to_piece(index), len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tokenizer = transformers.M2M100Tokenizer(
        vocab_file=str(folder / "vocab.json"), spm_file=str(folder / "sentencepiece.bpe.model"),
        src_lang="en", tgt_lang="fa",
    )  # fmt: skip
    tokenizer.save_pretrained(folder)
    return len(vocab) + 100 + 8


def _nllb_tokenizer(folder: Path) -> int:
    """NLLB's tokenizer files in ``folder``, tokenizer.json among them, converted by
    transformers from its SentencePiece model with NLLB's 202 language codes; the model's
    vocabulary size, two ids more than the tokenizer's, as NLLB-200's."""
    codes = transformers.models.nllb.tokenization_nllb.FAIRSEQ_LANGUAGE_CODES
    tokenizer = transformers.NllbTokenizer.from_pretrained(
        folder, src_lang="eng_Latn", tgt_lang="pes_Arab", additional_special_tokens=codes
    )
    tokenizer.save_pretrained(folder)
    assert (folder / "tokenizer.json").is_file()
    return len(tokenizer) + 2


@pytest.fixture(scope="module")
def imported(m2m_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Imported by ISO 639-1 codes, which NLLB's FLORES-200 codes take as aliases."""
    out = tmp_path_factory.mktemp("ours") / "model"
    return import_huggingface(m2m_dir, out, src_lang="en", tgt_lang="fa")


def without_tags(texts: list[str]) -> list[str]:
    """Texts without language tokens. M2M100Tokenizer skips them as special tokens where the
    folder lists them so (M2M-100's own files do); transformers 5.25 saves a folder that does
    not, and then writes them out."""
    return [LANGUAGE_TAG.sub("", text).strip() for text in texts]


def _hf(folder: Path, family: Family):
    model = transformers.M2M100ForConditionalGeneration.from_pretrained(folder).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(
        folder, src_lang=family.en, tgt_lang=family.fa
    )
    return model, tokenizer


def _ours(ids: list[int], loaded, tokenizer) -> list[int]:
    """transformers' ids as ours: through the pieces (their eos is our eos)."""
    ours = loaded.src_tokenizer
    pieces = tokenizer.convert_ids_to_tokens(ids)
    return [EOS_ID if i == tokenizer.eos_token_id else ours.id_of(piece)
            for i, piece in zip(ids, pieces, strict=True)]  # fmt: skip


def test_imported_logits_are_transformers_s(family: Family, m2m_dir: Path, imported: Path) -> None:
    theirs, tokenizer = _hf(m2m_dir, family)
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
@pytest.mark.parametrize("reverse", [False, True], ids=["en-fa", "fa-en"])
def test_imported_translations_are_generate_s(
    family: Family, m2m_dir: Path, imported: Path, beam: int, reverse: bool
) -> None:
    """In the direction given at import, and in the other one, chosen when translating."""
    src, tgt = (family.fa, family.en) if reverse else (family.en, family.fa)
    sources = [*TEXTS["fa"], "کتاب", "در سال ۲۰۲۴"] if reverse else SOURCES
    theirs = transformers.M2M100ForConditionalGeneration.from_pretrained(m2m_dir).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(m2m_dir, src_lang=src, tgt_lang=tgt)
    theirs.generation_config.forced_eos_token_id = None  # OnlyEosAtTheLimit instead
    limit = 10
    inputs = tokenizer(sources, return_tensors="pt", padding=True)
    at_limit = transformers.LogitsProcessorList(
        [OnlyEosAtTheLimit(limit, tokenizer.eos_token_id, before=2)]
    )
    forced = tokenizer.convert_tokens_to_ids(family.en_tag if reverse else family.fa_tag)
    with torch.no_grad():
        generated = theirs.generate(
            **inputs, num_beams=beam, do_sample=False, max_new_tokens=limit + 2,
            length_penalty=0.0, forced_bos_token_id=forced, early_stopping=False,
            bad_words_ids=[[theirs.config.pad_token_id]], logits_processor=at_limit,
        )  # fmt: skip
    expected = without_tags(tokenizer.batch_decode(generated, skip_special_tokens=True))
    direction = ("fa", "en") if reverse else (None, None)  # ISO 639-1 codes: NLLB's aliases
    assert_we_translate(sources, imported, expected, beam=beam, limit=limit, direction=direction)


def test_the_source_starts_with_its_language_token(
    family: Family, m2m_dir: Path, imported: Path
) -> None:
    _, tokenizer = _hf(m2m_dir, family)
    loaded = load_model_dir(imported)
    theirs = tokenizer(SOURCES).input_ids
    assert [_ours(row, loaded, tokenizer) for row in theirs] == [
        [*row, EOS_ID] for row in loaded.src_tokenizer.encode(SOURCES)
    ]
    assert loaded.src_tokenizer.encode(["A"])[0][0] == loaded.src_tokenizer.id_of(family.en_tag)
    targets = tokenizer(text_target=TEXTS["fa"]).input_ids
    expected = without_tags(tokenizer.batch_decode(targets, skip_special_tokens=True))
    ids = [_ours(row, loaded, tokenizer) for row in targets]
    assert loaded.tgt_tokenizer.decode(ids) == expected


def test_a_translation_scores_as_transformers_scores_it(
    family: Family, m2m_dir: Path, imported: Path
) -> None:
    """Forced scoring reads the target's language token first and does not score it."""
    theirs, tokenizer = _hf(m2m_dir, family)
    labels = tokenizer(text_target=TEXTS["fa"][0]).input_ids  # __fa__, pieces, eos
    src = tokenizer(TEXTS["en"][0], return_tensors="pt").input_ids
    prev = torch.tensor([[theirs.config.decoder_start_token_id, *labels[:-1]]])
    with torch.no_grad():
        log_probs = theirs(input_ids=src, decoder_input_ids=prev).logits[0].log_softmax(-1)
    expected = float(log_probs[1:].gather(1, torch.tensor(labels[1:])[:, None]).sum())
    (found,) = Translator.load(imported).score(TEXTS["en"][:1], TEXTS["fa"][:1])
    assert found.log_prob == pytest.approx(expected, abs=1e-4)
    assert len(found.token_probs) == len(labels) - 1  # the pieces and eos, not the tag


def test_the_commands_translate_the_direction_asked(
    family: Family, imported: Path, tmp_path: Path
) -> None:
    """translate, score and eval take --source-lang/--target-lang (eval: or --langs), by the
    model's codes or their aliases; a language the model lacks is one line."""
    sources = TEXTS["fa"]
    (tmp_path / "in.fa").write_text("".join(f"{s}\n" for s in sources), encoding="utf-8")
    translator = Translator.load(imported).directed(family.fa, "en")
    expected = translator.translate(sources)
    assert expected != Translator.load(imported).translate(sources)
    languages = ["--source-lang", family.fa, "--target-lang", "en"]
    model = ["-m", str(imported)]
    ours = ["--engine", "torch"]  # CTranslate2's beam ranks otherwise at the length limit
    result = run_command("seq2seq-translate", *model, "-i", "in.fa", *languages, *ours,
                         cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == expected
    (tmp_path / "out.en").write_text("".join(f"{t}\n" for t in expected), encoding="utf-8")
    scored = run_command("seq2seq-score", *model, "--src", "in.fa", "--tgt", "out.en",
                         *languages, cwd=tmp_path)  # fmt: skip
    log_probs = [float(line.split("\t")[0]) for line in scored.stdout.splitlines()]
    assert log_probs == pytest.approx([s.log_prob for s in translator.score(sources, expected)],
                                      abs=1e-3)  # fmt: skip
    direction = ["--langs", f"{family.fa}-en"] if family is M2M100 else languages  # either way
    evaluated = run_command("seq2seq-eval", *model, "--src", "in.fa", "--ref", "out.en",
                            *direction, "--json", "e.json", cwd=tmp_path)  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr
    (report,) = json.loads((tmp_path / "e.json").read_text())
    assert report["direction"] == "fa-en" and report["systems"][0]["bleu"] == pytest.approx(100)
    wrong = run_command("seq2seq-translate", *model, "-i", "in.fa", "--target-lang", "xx",
                        cwd=tmp_path)  # fmt: skip
    assert wrong.returncode == 1 and wrong.stderr.count("\n") == 1
    assert "no target language 'xx'" in wrong.stderr and repr(family.fa) in wrong.stderr


def test_an_ensemble_translates_the_direction_asked_with_every_member(
    family: Family, imported: Path, tmp_path: Path
) -> None:
    """Each member is directed: an ensemble of the model with itself is the model, and a
    member without language tags cannot leave its own direction."""
    alone = Translator.load(imported).directed(family.fa, "en")
    both = Translator.load(imported, imported).directed(family.fa, "en")
    assert both.prompts == alone.prompts * 2
    assert both.translate(TEXTS["fa"]) == alone.translate(TEXTS["fa"])
    untagged = shutil.copytree(imported, tmp_path / "untagged")
    config = OmegaConf.load(untagged / "config.yaml")
    del config.tags
    OmegaConf.save(config, untagged / "config.yaml")
    with pytest.raises(ConfigError, match="has no source language"):
        Translator.load(imported, untagged).directed(family.fa, "en")


def test_one_served_model_translates_every_pair_it_knows(family: Family, imported: Path) -> None:
    """/languages lists the model's languages, by ISO 639-1 code where there is one, each
    with every other as a target; a request names them by either code. (Each text is one
    sentence: the server translates a text's sentences apart.)"""
    translator = Translator.load(imported)
    with make_client([imported]) as client:
        listed = {entry["code"]: entry["targets"] for entry in client.get("/languages").json()}
        assert len(listed) == len(translator.loaded.spec.tags)
        assert {"fa", "de"} <= set(listed["en"]) and "en" in listed["fa"]
        for source, target in (("en", "fa"), (family.fa, "en"), ("en", "de"), ("fa", "de")):
            texts = ["کتاب\u200cها روی میز هستند.", "درست است؟"] if source != "en" else TEXTS["en"]
            answer = client.post("/translate", json={"q": texts, "source": source,
                                                     "target": target})  # fmt: skip
            assert answer.status_code == 200, answer.text
            expected = translator.directed(source, target).translate(texts, options=DEFAULT.options)
            assert answer.json()["translatedText"] == expected
        unknown = client.post("/translate", json={"q": "A", "source": "en", "target": "xx"})
        assert unknown.status_code == 400 and "no model translates en to xx" in unknown.text


def test_fine_tuning_keeps_the_languages_and_their_tags(
    family: Family, imported: Path, tmp_path: Path
) -> None:
    """Sources start with their tag and targets with theirs, which the decoder learns to
    predict after bos; the tuned directory knows every language still."""
    args = [*SMALL_DEMO, "model=from_init", f"init_from={imported}", *AS_IMPORTED,
            "trainer.max_steps=3", "test_after_training=false"]  # fmt: skip
    train(tmp_path, *args)
    tuned, start = load_model_dir(tmp_path / "run" / "model"), load_model_dir(imported)
    assert tuned.spec.tags == start.spec.tags and tuned.target_prompt == start.target_prompt
    assert tuned.src_tokenizer.encode(SOURCES) == start.src_tokenizer.encode(SOURCES)
    prepared = PreparedData(Path(tuned.metadata[DATA]["prepared"]))
    pairs = prepared.split("train")
    tags = [start.src_tokenizer.id_of(t) for t in (family.en_tag, family.fa_tag)]
    assert [(pairs.src[i][0], pairs.tgt[i][0]) for i in range(3)] == [tuple(tags)] * 3
    weights = tuned.model.decoder.layers[0].ffn.w_1.weight
    assert not torch.equal(weights, start.model.decoder.layers[0].ffn.w_1.weight)
    assert Translator.load(tmp_path / "run" / "model").directed("fa", "de").translate(["کتاب"])


@pytest.mark.parametrize("direction", [("en", "fa"), ("fa", "en"), ("fa", "de")])
def test_the_ctranslate2_engine_translates_every_direction_as_ours(
    imported: Path, direction: tuple[str, str]
) -> None:
    """The source's tag is read and the target's given as CTranslate2's prefix, then left out
    of the text: greedy search gives our translations, beam search our n-best lists. Their
    order may differ, since a random model's outputs run to the length limit, where our
    scores count eos and CTranslate2's do not."""
    pytest.importorskip("ctranslate2")
    from seq2seq.export.engine import CTranslate2Engine

    translator = Translator.load(imported).directed(*direction)
    engine = CTranslate2Engine.start(translator, imported, precision="fp32")
    sources = TEXTS[direction[0] if direction[0] != "de" else "en"]
    greedy, beam = DecodingOptions(beam_size=1), DecodingOptions(beam_size=4, nbest=4)
    found = engine.translate_nbest(sources, options=greedy)
    assert [candidates[0].text for candidates in found] == translator.translate(
        sources, options=greedy
    )
    ours, theirs = (
        system.translate_nbest(sources, options=beam) for system in (translator, engine)
    )
    for mine, its in zip(ours, theirs, strict=True):
        assert sorted(c.text for c in its) == sorted(c.text for c in mine)


def translate_fa_en(model: Path, work: Path, *options: str) -> subprocess.CompletedProcess:
    """seq2seq-translate of TEXTS["fa"] to English, greedily, with ``options``, in ``work``."""
    (work / "in.fa").write_text("".join(f"{text}\n" for text in TEXTS["fa"]))
    return run_command("seq2seq-translate", "-m", str(model), "-i", "in.fa", "--source-lang",
                       "fa", "--target-lang", "en", "--beam", "1", *options, cwd=work)  # fmt: skip


def test_a_tagged_model_translates_with_ctranslate2_and_is_no_argos_package(
    imported: Path, tmp_path: Path
) -> None:
    engines = [translate_fa_en(imported, tmp_path, "--engine", e) for e in ("ctranslate2", "torch")]
    assert engines[0].returncode == 0, engines[0].stderr
    assert engines[0].stdout == engines[1].stdout
    argos = ["seq2seq-export", "-m", str(imported), "--to", "argos", "-o", "argos"]
    result = run_command(*argos, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "language tag" in result.stderr


def test_a_tagged_model_with_a_shortlist_decodes_with_ours(imported: Path, tmp_path: Path) -> None:
    """CTranslate2's vocabulary map keeps other tokens than our shortlist for such a model:
    --engine auto takes our decoder, --engine ctranslate2 is one line."""
    loaded = load_model_dir(imported)
    shortlist = random_shortlist(loaded, k=6, frequent=4)
    save_shortlist(tmp_path / "list", shortlist, src_tokenizer=loaded.src_tokenizer,
                   tgt_tokenizer=loaded.tgt_tokenizer)  # fmt: skip
    auto, torch_engine, ct2 = (
        translate_fa_en(imported, tmp_path, "--shortlist", "list", "--engine", engine)
        for engine in ("auto", "torch", "ctranslate2")
    )
    assert auto.returncode == 0, auto.stderr
    assert auto.stdout == torch_engine.stdout
    assert ct2.returncode != 0 and ct2.stderr.strip().count("\n") == 0
    assert "vocabulary map" in ct2.stderr


def test_an_unknown_language_names_the_known_ones(
    family: Family, m2m_dir: Path, tmp_path: Path
) -> None:
    args = ["huggingface", str(m2m_dir), "-o", "m", "--source-lang", "en", "--target-lang", "xx"]
    result = run_command("seq2seq-import", *args, cwd=tmp_path)
    assert result.returncode == 1
    assert "no language 'xx'" in result.stderr and repr(family.fa) in result.stderr


def test_a_directory_tagged_for_one_direction_still_loads(
    family: Family, imported: Path, tmp_path: Path
) -> None:
    """config.yaml as first written: ``tags: {src, tgt}``, the two tokens of its direction."""
    copy = shutil.copytree(imported, tmp_path / "model")
    config = OmegaConf.load(copy / "config.yaml")
    config.tags = {"src": family.en_tag, "tgt": family.fa_tag}
    OmegaConf.save(config, copy / "config.yaml")
    loaded, expected = load_model_dir(copy), load_model_dir(imported)
    assert loaded.spec.tags == {family.en: family.en_tag, family.fa: family.fa_tag}
    assert loaded.target_prompt == expected.target_prompt
    assert loaded.src_tokenizer.encode(SOURCES) == expected.src_tokenizer.encode(SOURCES)
