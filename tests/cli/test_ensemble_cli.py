"""Ensembles from the command line: -m A -m B [--weights] in translate, score and eval."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.translator import Translator
from tests.helpers import live_server, run_command

SOURCES = ["the red book is here", "three cats", "a small house near the tree"]
TARGETS = ["کتاب قرمز اینجا است", "سه گربه", "یک خانه کوچک"]


def write_pairs(tmp_path: Path) -> None:
    (tmp_path / "src.en").write_text("".join(f"{s}\n" for s in SOURCES), encoding="utf-8")
    (tmp_path / "ref.fa").write_text("".join(f"{t}\n" for t in TARGETS), encoding="utf-8")


def test_translate_with_an_ensemble_is_the_translators(
    model_dir: Path, decoder_only_dir: Path, tmp_path: Path
) -> None:
    write_pairs(tmp_path)
    models = ("-m", str(model_dir), "-m", str(decoder_only_dir), "--weights", "3,1")
    result = run_command("seq2seq-translate", *models, "-i", "src.en", "--beam", "3",
                         cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    translator = Translator.load(model_dir, decoder_only_dir, weights=[0.75, 0.25])
    expected = translator.translate(SOURCES, options=DecodingOptions(beam_size=3))
    assert result.stdout.splitlines() == expected
    alone = Translator.load(decoder_only_dir).translate(
        SOURCES, options=DecodingOptions(beam_size=3)
    )
    assert expected != alone  # the weights matter: the encoder-decoder has a say


def test_score_with_an_ensemble_is_the_translators(
    model_dir: Path, decoder_only_dir: Path, tmp_path: Path
) -> None:
    write_pairs(tmp_path)
    result = run_command("seq2seq-score", "-m", str(model_dir), "-m", str(decoder_only_dir),
                         "--src", "src.en", "--tgt", "ref.fa", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    expected = Translator.load(model_dir, decoder_only_dir).score(SOURCES, TARGETS)
    logged = [float(line.split("\t")[0]) for line in result.stdout.splitlines()]
    assert logged == [round(s.log_prob, 4) for s in expected]


def test_eval_names_an_ensemble_by_its_members(model_dir: Path, tmp_path: Path) -> None:
    write_pairs(tmp_path)
    result = run_command("seq2seq-eval", "-m", str(model_dir), "-m", str(model_dir),
                         "--ensemble", "--src", "src.en", "--ref", "ref.fa", "--beam", "2",
                         cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith(f"│ {model_dir}")]
    assert len(rows) == 3  # the model, the model again, and their ensemble
    assert f"{model_dir}+{model_dir}" in rows[-1]


def test_weights_of_another_count_are_a_usage_error(model_dir: Path, tmp_path: Path) -> None:
    result = run_command("seq2seq-translate", "-m", str(model_dir), "-m", str(model_dir),
                         "--weights", "1,2,3", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].endswith("--weights gives 3 weights for 2 models")
    assert "Traceback" not in result.stderr


def test_serve_answers_a_direction_with_the_ensemble_of_its_models(
    model_dir: Path, decoder_only_dir: Path, tmp_path: Path
) -> None:
    models = ("-m", str(model_dir), "-m", str(decoder_only_dir))
    with live_server(*models, "--beam", "2", cwd=tmp_path) as (_process, url):
        body = json.dumps({"q": SOURCES, "source": "en", "target": "fa"}).encode()
        request = urllib.request.Request(
            f"{url}/translate", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            answer = json.load(response)
    expected = Translator.load(model_dir, decoder_only_dir).translate(
        SOURCES, options=DecodingOptions(beam_size=2)
    )
    assert answer["translatedText"] == expected
