"""seq2seq-shortlist as a user runs it: from given text or the model's own training data, and
one error line for bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from seq2seq.data.lexical import ParallelIds
from seq2seq.data.prepare import PreparedData, prepare
from seq2seq.data.tokenizer import TokenizerConfig, TokenizerFiles
from seq2seq.modeldir.format import LoadedModel, load_model_dir
from seq2seq.modeldir.shortlist import (
    SHORTLIST,
    Shortlist,
    build_shortlist,
    load_shortlist,
    model_shortlist,
    save_shortlist,
)
from tests.cli.test_serve_cli import post
from tests.data.corpus import data_config, sentence_pairs, write_corpus, write_pairs
from tests.helpers import live_server, run_command


@pytest.fixture
def model(model_dir: Path, tmp_path: Path) -> Path:
    """A copy of the test model: the shortlist is written into the model directory."""
    return Path(shutil.copytree(model_dir, tmp_path / "model"))


def shortlist_command(*args: str, cwd: Path):
    return run_command("seq2seq-shortlist", *args, cwd=cwd)


def load(path: Path, loaded: LoadedModel) -> Shortlist:
    tokenizers = {"src_tokenizer": loaded.src_tokenizer, "tgt_tokenizer": loaded.tgt_tokenizer}
    return load_shortlist(path, **tokenizers)


def assert_book_lists_its_translation(shortlist: Shortlist, loaded: LoadedModel) -> None:
    (book,) = loaded.src_tokenizer.encode(["book"])
    (ketab,) = loaded.tgt_tokenizer.encode([loaded.tgt_normalizer("کتاب")])
    assert len(book) == len(ketab) == 1  # whole words in this vocabulary
    assert ketab[0] in shortlist.lists[book[0], :3].tolist()


def test_a_shortlist_of_given_text_loads_and_lists_translations(model: Path, tmp_path: Path):
    write_pairs(tmp_path, "text", sentence_pairs(150, seed=3))
    result = shortlist_command("-m", str(model), "--src", "text.en", "--tgt", "text.fa",
                               "-o", "out.safetensors", "--k", "20", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("shortlist of 150 pairs: k 20, ")
    assert result.stdout.endswith(" -> out.safetensors\n")
    loaded = load_model_dir(model)
    shortlist = load(tmp_path / "out.safetensors", loaded)
    assert shortlist.lists.shape == (loaded.src_tokenizer.vocab_size, 20)
    assert_book_lists_its_translation(shortlist, loaded)
    assert model_shortlist(model) is None  # -o, not the default


def test_by_default_the_models_training_data_and_its_own_file(model: Path, tmp_path: Path):
    given = (TokenizerFiles(model / "spm.model"),) * 2
    data = prepare(data_config(write_corpus(tmp_path / "raw")), TokenizerConfig(),
                   output_root=tmp_path / "prepared", seed=1,
                   given_tokenizers=given).output_dir  # fmt: skip
    metadata = json.loads((model / "metadata.json").read_text(encoding="utf-8"))
    metadata["data"] = {"prepared": str(data.resolve())}  # as training records it
    (model / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    result = shortlist_command("-m", "model", "--iterations", "3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("shortlist of 301 pairs: k 25, 10 frequent; ")
    loaded = load_model_dir(model)
    shortlist = load(model / SHORTLIST, loaded)
    vocab = {"src_vocab": loaded.src_tokenizer.vocab_size,
             "tgt_vocab": loaded.tgt_tokenizer.vocab_size}  # fmt: skip
    corpus = ParallelIds.collect(PreparedData(data).split("train").pairs(), **vocab)
    expected = build_shortlist(corpus, iterations=3, **vocab)
    assert torch.equal(shortlist.lists, expected.lists)
    assert torch.equal(shortlist.frequent, expected.frequent)
    assert_book_lists_its_translation(shortlist, loaded)


TEXT = ("--src", "src.en", "--tgt", "tgt.fa")
BAD_INPUT = {  # case: (arguments, the error line)
    "lengths": (("-m", "model", *TEXT), "error: src.en: has 3 lines but tgt.fa has 2: parallel "
                "files must be line-aligned (first unpaired line: 3)"),
    "empty": (("-m", "model", *TEXT),
              "error: tgt.fa: empty file: no sentence pairs to build a shortlist from"),
    "no-model": (("-m", "nowhere", *TEXT), "error: nowhere: model directory not found"),
    "no-data": (("-m", "model"), "error: model/metadata.json: records no training data "
                "(data.prepared): give the text to learn from with --src and --tgt"),
    "data-gone": (("-m", "model"), "error: gone: not found: the training data that "
                  "model/metadata.json records (data.prepared); give --src and --tgt"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_is_one_error_line(model: Path, tmp_path: Path, case: str) -> None:
    args, expected = BAD_INPUT[case]
    (tmp_path / "src.en").write_text("red book\ncat\ntree\n", encoding="utf-8")
    (tmp_path / "tgt.fa").write_text("" if case == "empty" else "a\nb\n", encoding="utf-8")
    if case == "data-gone":
        (model / "metadata.json").write_text(json.dumps({"data": {"prepared": "gone"}}))
    result = shortlist_command(*args, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == expected + "\n"
    assert model_shortlist(model) is None


def only_special_ids(loaded: LoadedModel) -> Shortlist:
    """A shortlist that keeps nothing but the special ids: every translation is empty."""
    return Shortlist(torch.full((loaded.src_tokenizer.vocab_size, 1), -1), torch.arange(0))


def test_translate_uses_the_model_s_own_shortlist_unless_told_otherwise(
    model: Path, tmp_path: Path
) -> None:
    loaded = load_model_dir(model)
    tokenizers = {"src_tokenizer": loaded.src_tokenizer, "tgt_tokenizer": loaded.tgt_tokenizer}
    save_shortlist(model / SHORTLIST, only_special_ids(loaded), **tokenizers)
    vocab = loaded.tgt_tokenizer.vocab_size
    every = Shortlist(torch.arange(vocab)[None, :].expand(vocab, -1), torch.arange(0))
    save_shortlist(tmp_path / "every.safetensors", every, **tokenizers)
    (tmp_path / "in.en").write_text("The three red books are here.\nA cat sat.\n")

    def translate(*args: str) -> list[str]:
        limits = ("--beam", "3", "--max-len-a", "0", "--max-len-b", "8")
        result = run_command(
            "seq2seq-translate", "-m", str(model), "-i", "in.en", *limits, *args, cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    for line in translate("--engine", "torch"):  # the model's own: only unk and eos are kept
        assert set(line.split()) <= {"⁇"}
    greedy = ("--beam", "1")  # where CTranslate2's outputs are ours (its length penalty differs)
    assert translate("--engine", "ctranslate2", *greedy) == translate("--engine", "torch", *greedy)
    whole = translate("--no-shortlist", "--engine", "torch")
    assert all(whole)
    assert translate("--shortlist", "every.safetensors", "--engine", "torch") == whole


def test_translate_refuses_a_shortlist_of_another_vocabulary(
    model: Path, other_vocabulary_dir: Path, tmp_path: Path
) -> None:
    other = load_model_dir(other_vocabulary_dir)
    tokenizers = {"src_tokenizer": other.src_tokenizer, "tgt_tokenizer": other.tgt_tokenizer}
    save_shortlist(tmp_path / "other.safetensors", only_special_ids(other), **tokenizers)
    (tmp_path / "in.en").write_text("A cat sat.\n")
    result = run_command("seq2seq-translate", "-m", str(model), "-i", "in.en",
                         "--shortlist", "other.safetensors", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("error: other.safetensors: built for another source vocabulary")
    assert len(result.stderr.splitlines()) == 1


def test_the_server_decodes_with_each_direction_s_own_shortlist(model: Path, tmp_path: Path):
    loaded = load_model_dir(model)
    tokenizers = {"src_tokenizer": loaded.src_tokenizer, "tgt_tokenizer": loaded.tgt_tokenizer}
    save_shortlist(model / SHORTLIST, only_special_ids(loaded), **tokenizers)
    body = {"q": "The three red books are here.", "source": "en", "target": "fa"}
    with live_server("-m", str(model), cwd=tmp_path) as (_process, url):
        status, answer = post(f"{url}/translate", body)
    assert status == 200
    assert set(answer["translatedText"].split()) <= {"⁇"}  # nothing but unk (or eos) is kept
