"""data.both_directions: one model trained on both directions of the data, each source starting
with its language's tag and each target with its own; translated either way by choosing them."""

from __future__ import annotations

from pathlib import Path

import pytest

from seq2seq.data.prepare import PreparedData
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.translator import Translator
from seq2seq.modeldir.format import DATA, load_model_dir
from tests.cli.test_train_cli import SMALL_DEMO, paths_under, train
from tests.helpers import run_command

BOTH = [*SMALL_DEMO, "data.both_directions=true", "test_after_training=false"]


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model directory of 200 updates on both directions of the small demo."""
    work = tmp_path_factory.mktemp("tagged")
    train(work, *BOTH, "trainer.max_steps=200")
    return work / "run" / "model"


def test_each_pair_is_read_both_ways_with_its_tags(tagged: Path) -> None:
    loaded = load_model_dir(tagged)
    assert loaded.spec.tags == {"en": "__en__", "fa": "__fa__"}
    en, fa = (loaded.src_tokenizer.id_of(tag) for tag in ("__en__", "__fa__"))
    prepared = PreparedData(Path(loaded.metadata[DATA]["prepared"]))
    pairs = prepared.split("train")
    starts = {(int(pairs.src[i][0]), int(pairs.tgt[i][0])) for i in range(len(pairs))}
    assert starts == {(en, fa), (fa, en)}
    first = [i for i in range(len(pairs)) if int(pairs.src[i][0]) == en]
    assert 2 * len(first) == len(pairs)  # the same pairs, the other way round
    assert list(pairs.src[first[0]][1:]) == list(pairs.tgt[len(first)][1:])
    assert en not in loaded.src_tokenizer.encode(["__en__ text"])[0][1:]  # text is never a tag


def test_the_model_translates_either_way(tagged: Path, tmp_path: Path) -> None:
    (tmp_path / "in.fa").write_text("کتاب قرمز\nسه گربه\n", encoding="utf-8")
    reverse = ["--source-lang", "fa", "--target-lang", "en"]
    result = run_command("seq2seq-translate", "-m", str(tagged), "-i", "in.fa", *reverse,
                         "--beam", "1", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    sources = ["کتاب قرمز", "سه گربه"]
    greedy = DecodingOptions(beam_size=1)
    expected = Translator.load(tagged).directed("fa", "en").translate(sources, options=greedy)
    assert result.stdout.splitlines() == expected
    assert all(text.isascii() and text for text in expected)  # English: latin letters
    assert all(not text.isascii() for text in Translator.load(tagged).translate(["the red book"]))
    assert "__" not in result.stdout  # the tags are read, never written


def test_both_directions_needs_one_tokenizer(tmp_path: Path) -> None:
    args = [*paths_under(tmp_path), *BOTH, "tokenizer=spm_separate", "trainer.max_steps=1"]
    result = run_command("seq2seq-train", *args, cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "data.both_directions trains one tokenizer for both languages" in result.stderr
