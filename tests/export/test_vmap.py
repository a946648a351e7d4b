"""A shortlist as CTranslate2's vocabulary map: CTranslate2 decodes over the target tokens
that our search keeps, so both systems translate alike with the same list."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from seq2seq.export.engine import CONVERSIONS_VARIABLE, CTranslate2Engine
from seq2seq.export.vmap import VMAP, vocabulary_map_lines, write_vocabulary_map
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.translator import Engine, Translator
from seq2seq.modeldir.format import LoadedModel, load_model_dir
from seq2seq.modeldir.shortlist import SHORTLIST, Shortlist, save_shortlist
from tests.helpers import run_command
from tests.modeldir.shortlists import random_shortlist

pytest.importorskip("ctranslate2")

LINES = ["the red books are small.", "", "we bought three books.", "a cat sat on the mat"]
GREEDY = DecodingOptions(beam_size=1, max_len_a=0, max_len_b=12)


def best(engine: Engine) -> list[str]:
    return [candidates[0].text for candidates in engine.translate_nbest(LINES, options=GREEDY)]


def tokenizers(loaded: LoadedModel) -> dict:
    return {"src_tokenizer": loaded.src_tokenizer, "tgt_tokenizer": loaded.tgt_tokenizer}


def pieces(loaded: LoadedModel) -> dict:
    return {"src_pieces": loaded.src_tokenizer.all_pieces(),
            "tgt_pieces": loaded.tgt_tokenizer.all_pieces()}  # fmt: skip


def test_the_map_lists_the_always_kept_pieces_then_each_source_piece_s(model_dir: Path) -> None:
    loaded = load_model_dir(model_dir)
    src, tgt = loaded.src_tokenizer, loaded.tgt_tokenizer
    lists = torch.full((src.vocab_size, 2), -1)
    lists[7] = torch.tensor([9, 8])
    lists[10, 0] = 11
    lists[2] = torch.tensor([5, 6])  # a special source id has no line: it is never a source
    lines = list(vocabulary_map_lines(Shortlist(lists, torch.tensor([12])), **pieces(loaded)))
    assert lines == [
        "\t" + " ".join(tgt.pieces([0, 1, 2, 3, 12])),
        f"{src.pieces([7])[0]}\t{' '.join(tgt.pieces([9, 8]))}",
        f"{src.pieces([10])[0]}\t{tgt.pieces([11])[0]}",
    ]


def test_ctranslate2_with_the_map_translates_as_our_search_with_the_list(
    model_dir: Path, tmp_path: Path
) -> None:
    loaded = load_model_dir(model_dir)
    save_shortlist(tmp_path / SHORTLIST, random_shortlist(loaded, k=6, frequent=4),
                   **tokenizers(loaded))  # fmt: skip
    ours = Translator.load(model_dir, shortlist=tmp_path / SHORTLIST)
    theirs = CTranslate2Engine.start(ours, model_dir, precision="fp32")
    assert best(theirs) == best(ours)
    assert best(Translator.load(model_dir, shortlist=False)) != best(ours)  # the list matters


def test_ctranslate2_in_int8_keeps_to_the_list_too(model_dir: Path, tmp_path: Path) -> None:
    """A list of the special ids alone leaves nothing to say but unknown pieces (int8 outputs
    differ from fp32's by rounding, so this shows the map at work where equal outputs
    cannot)."""
    loaded = load_model_dir(model_dir)
    nothing = Shortlist(torch.full((loaded.src_tokenizer.vocab_size, 1), -1), torch.arange(0))
    save_shortlist(tmp_path / SHORTLIST, nothing, **tokenizers(loaded))
    int8 = {"precision": "int8"}
    with_list = Translator.load(model_dir, shortlist=tmp_path / SHORTLIST, **int8)
    without = Translator.load(model_dir, shortlist=False, **int8)
    assert all(best(CTranslate2Engine.start(without, model_dir, **int8))[0::2])
    for line in best(CTranslate2Engine.start(with_list, model_dir, **int8)):
        assert set(line.split()) <= {"⁇"}


def test_each_engine_decodes_with_its_own_list_from_one_cached_conversion(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CONVERSIONS_VARIABLE)
    own = Path(shutil.copytree(model_dir, tmp_path / "model"))
    loaded = load_model_dir(own)
    engines = []
    for seed in (1, 2):
        path = tmp_path / f"{seed}.safetensors"
        save_shortlist(path, random_shortlist(loaded, k=6, frequent=4, seed=seed),
                       **tokenizers(loaded))  # fmt: skip
        translator = Translator.load(own, shortlist=path)
        engine = CTranslate2Engine.start(translator, own, precision="fp32")
        engines.append((translator, engine))
    for translator, engine in engines:
        assert best(engine) == best(translator)
    assert best(engines[0][1]) != best(engines[1][1])
    assert not (own / "ctranslate2" / VMAP).exists()  # the cache stays one per weights


def test_the_written_map_is_the_lines_with_line_ends(model_dir: Path, tmp_path: Path) -> None:
    loaded = load_model_dir(model_dir)
    shortlist = random_shortlist(loaded, k=3, frequent=2)
    path = write_vocabulary_map(shortlist, tmp_path, **pieces(loaded))
    lines = list(vocabulary_map_lines(shortlist, **pieces(loaded)))
    assert path == tmp_path / VMAP
    assert path.read_text(encoding="utf-8") == "".join(line + "\n" for line in lines)


def test_the_ctranslate2_export_carries_the_model_s_shortlist(model_dir, tmp_path) -> None:
    """``seq2seq-export --to ctranslate2`` writes the model's shortlist as ``vmap.txt``, with
    which CTranslate2 itself (``use_vmap=True``) translates as our search with the list."""
    import ctranslate2

    model = Path(shutil.copytree(model_dir, tmp_path / "model"))
    loaded = load_model_dir(model)
    shortlist = random_shortlist(loaded, k=6, frequent=4)
    save_shortlist(model / SHORTLIST, shortlist, **tokenizers(loaded))
    for args, folder in (((), "with"), (("--no-shortlist",), "without")):
        result = run_command("seq2seq-export", "-m", "model", "--to", "ctranslate2",
                             "-o", folder, *args, cwd=tmp_path)  # fmt: skip
        assert result.returncode == 0, result.stderr
    lines = list(vocabulary_map_lines(shortlist, **pieces(loaded)))
    assert (tmp_path / "with" / VMAP).read_text(encoding="utf-8").splitlines() == lines
    assert not (tmp_path / "without" / VMAP).exists()
    translator = Translator.load(model)
    sources = [loaded.src_tokenizer.pieces(row[:-1]) for row in translator.source_ids(LINES)]
    found = ctranslate2.Translator(str(tmp_path / "with")).translate_batch(
        sources, beam_size=1, max_decoding_length=12, use_vmap=True
    )
    texts = loaded.tgt_tokenizer.decode_pieces([result.hypotheses[0] for result in found])
    assert [text for text, line in zip(texts, LINES, strict=True) if line] == [
        text for text, line in zip(best(translator), LINES, strict=True) if line
    ]
