"""CTranslate2 as an engine: converted once, checked, the same greedy answers as ours."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from seq2seq.common.errors import DataError
from seq2seq.export import engine as engine_module
from seq2seq.export.check import ExportCheck
from seq2seq.export.engine import (
    CACHE,
    CONVERSIONS_VARIABLE,
    CTranslate2Engine,
    cache_folder,
    stamp_of,
)
from seq2seq.inference.options import DecodingOptions, Sampling
from seq2seq.inference.translator import Translator

pytest.importorskip("ctranslate2")

LINES = ["the red books are small.", "", "we bought three books.", "a cat sat on the mat"]


def started(model_dir: Path, precision: str = "fp32") -> CTranslate2Engine:
    return CTranslate2Engine.start(Translator.load(model_dir), model_dir, precision=precision)


@pytest.fixture
def own_model_dir(model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the test model that each test converts into, as users' models are."""
    monkeypatch.delenv(CONVERSIONS_VARIABLE)
    return Path(shutil.copytree(model_dir, tmp_path / "model"))


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_greedy_translations_are_ours_and_the_conversion_is_cached(
    own_model_dir: Path, precision: str
) -> None:
    greedy = DecodingOptions(beam_size=1, max_len_a=0, max_len_b=12)
    translator = Translator.load(own_model_dir)
    engine = CTranslate2Engine.start(translator, own_model_dir, precision="fp32")
    ours = translator.translate_nbest(LINES, options=greedy)
    theirs = engine.translate_nbest(LINES, options=greedy)
    assert [c[0].text for c in theirs] == [c[0].text for c in ours]
    assert theirs[1] == ours[1] and ours[1][0].text == ""
    converted = (own_model_dir / CACHE / "model.bin").stat().st_mtime_ns
    again = CTranslate2Engine.start(
        Translator.load(own_model_dir), own_model_dir, precision=precision
    )
    assert (own_model_dir / CACHE / "model.bin").stat().st_mtime_ns == converted
    assert len(again.translate_nbest(LINES, options=greedy)) == len(LINES)


def test_beam_search_gives_nbest_texts_ranked_as_ours_without_a_length_penalty(
    own_model_dir: Path,
) -> None:
    options = DecodingOptions(beam_size=4, nbest=3, alpha=0.0, max_len_a=0, max_len_b=6)
    translator = Translator.load(own_model_dir)
    engine = CTranslate2Engine.start(translator, own_model_dir, precision="fp32")
    theirs = engine.translate_nbest(LINES, options=options)
    ours = translator.translate_nbest(LINES, options=options)
    assert [len(c) for c in theirs] == [3, 1, 3, 3]
    assert [c[0].text for c in theirs] == [c[0].text for c in ours]
    assert all(candidate.score is None for c in theirs for candidate in c)


def test_changed_weights_are_converted_again(own_model_dir: Path) -> None:
    started(own_model_dir)
    (own_model_dir / CACHE / engine_module.STAMP).write_text('{"weights": "other"}')
    started(own_model_dir)
    assert "other" not in (own_model_dir / CACHE / engine_module.STAMP).read_text()


def test_a_conversion_that_disagrees_is_refused_in_one_line(
    own_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disagrees = ExportCheck(lines=8, agreement=0.75, bleu=90.0, chrf=95.0, first_difference=3)
    monkeypatch.setattr(engine_module, "check_export", lambda *args, **kwargs: disagrees)
    with pytest.raises(DataError, match=r"75% of 8 check sentences.*--engine torch") as error:
        started(own_model_dir)
    assert "\n" not in str(error.value)


def test_sampling_prefixes_and_constraints_are_left_to_our_decoder(own_model_dir: Path) -> None:
    engine = started(own_model_dir)
    greedy = DecodingOptions(beam_size=1)
    for asks in ({"options": DecodingOptions(beam_size=1, sampling=Sampling())},
                 {"options": greedy, "prefixes": [""] * len(LINES)},
                 {"options": greedy, "constraints": [[]] * len(LINES)}):  # fmt: skip
        with pytest.raises(ValueError, match="does not sample, force prefixes or meet"):
            engine.translate_nbest(LINES, **asks)


@pytest.mark.parametrize("beam_size", [1, 2])
def test_a_sentence_translates_the_same_alone_and_in_a_batch(
    own_model_dir: Path, beam_size: int
) -> None:
    """A batch's sentences decode at their own length limits, each as it would alone."""
    options = DecodingOptions(beam_size=beam_size)
    lines = ["the red book.", "Mr. Smith has a cat!", "the tree", *LINES]
    engine = started(own_model_dir)
    batch = [c[0].text for c in engine.translate_nbest(lines, options=options)]
    alone = [engine.translate_nbest([line], options=options)[0][0].text for line in lines]
    assert batch == alone


def test_conversions_can_live_outside_the_model_directories(
    own_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONVERSIONS_VARIABLE, str(tmp_path / "conversions"))
    before = sorted(p.name for p in own_model_dir.iterdir())
    started(own_model_dir)
    assert sorted(p.name for p in own_model_dir.iterdir()) == before
    folder = cache_folder(own_model_dir, stamp_of(own_model_dir))
    assert folder.parent == tmp_path / "conversions" and (folder / "model.bin").is_file()


def test_starting_the_engine_leaves_torchs_threads_alone(own_model_dir: Path) -> None:
    """CTranslate2 sets the OpenMP thread count of the thread that makes a translator to its
    own (one per worker); where torch was loaded first that count is torch's, and our decoder
    in the same process (a server's other requests) would run on one thread."""
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert started(own_model_dir).workers == 2  # workers of one thread each
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
