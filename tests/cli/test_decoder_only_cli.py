"""A decoder-only translation model from the user's side: the same commands as for the
encoder-decoder (translate, eval, fusion, attention), and one line where it has no place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from seq2seq.analysis.attention import sentence_attention
from seq2seq.common.special import BOS_ID, EOS_ID
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.translator import Translator
from seq2seq.modeldir.format import load_model_dir
from tests.helpers import MAX_POSITIONS, run_command

LINES = ["the red book is here", "", "three cats", " ".join(["house"] * (2 * MAX_POSITIONS))]


def translate(model: Path, tmp_path: Path, *args: str) -> list[str]:
    (tmp_path / "in.en").write_text("".join(f"{line}\n" for line in LINES), encoding="utf-8")
    result = run_command("seq2seq-translate", "-m", str(model), "-i", "in.en", *args,
                         cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("truncated") == 1  # the long line, cut to the model's share
    return result.stdout.splitlines()


@pytest.mark.parametrize("search", [["--beam", "1"], ["--beam", "3"], ["--sample", "--seed", "2"]])
def test_translate_gives_a_line_per_line_as_the_python_api_does(
    decoder_only_dir: Path, tmp_path: Path, search: list[str]
) -> None:
    lines = translate(decoder_only_dir, tmp_path, *search)
    assert len(lines) == len(LINES) and lines[1] == ""
    if search[0] == "--beam":
        options = DecodingOptions(beam_size=int(search[1]))
        assert lines == Translator.load(decoder_only_dir).translate(LINES, options=options)


def test_nbest_and_fusion_with_a_language_model(decoder_only_dir, lm_dir, tmp_path) -> None:
    nbest = translate(decoder_only_dir, tmp_path, "--beam", "3", "--nbest", "2")
    assert len(nbest) == len(LINES)
    for line, source in zip(nbest, LINES, strict=True):  # two (text, score) a line
        assert len(line.split("\t")) == (4 if source else 2)
    plain = translate(decoder_only_dir, tmp_path, "--beam", "3")
    assert translate(decoder_only_dir, tmp_path, "--beam", "3", "--lm", str(lm_dir),
                     "--lm-weight", "0") == plain  # fmt: skip


def test_eval_scores_a_decoder_only_model(decoder_only_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "src.en").write_text("the red book\nthree cats\n", encoding="utf-8")
    (tmp_path / "ref.fa").write_text("کتاب قرمز\nسه گربه\n", encoding="utf-8")
    result = run_command("seq2seq-eval", "-m", str(decoder_only_dir), "--src", "src.en",
                         "--ref", "ref.fa", "--beam", "2", "--json", "out.json",
                         cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    (report,) = json.loads((tmp_path / "out.json").read_text())
    assert report["sentences"] == 2 and report["systems"][0]["seconds"] > 0


def test_export_refuses_a_decoder_only_model(decoder_only_dir: Path, tmp_path: Path) -> None:
    result = run_command("seq2seq-export", "-m", str(decoder_only_dir), "--to", "ctranslate2",
                         "-o", "out", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 1 and "is a decoder-only model" in result.stderr
    assert len(result.stderr.splitlines()) == 1 and not (tmp_path / "out").exists()


def test_attention_maps_are_the_blocks_of_self_attention(decoder_only_dir: Path) -> None:
    loaded = load_model_dir(decoder_only_dir)
    maps = sentence_attention(loaded, "the red book", "کتاب قرمز")
    src, tgt = len(maps.src_tokens), len(maps.tgt_tokens)
    (src_ids,) = loaded.src_tokenizer.encode(["the red book"])
    (tgt_ids,) = loaded.tgt_tokenizer.encode(["کتاب قرمز"])
    sequence = [BOS_ID, *src_ids, EOS_ID, BOS_ID, *tgt_ids]
    _, full = loaded.model.forward_with_attention(torch.tensor([sequence]))
    for layer, whole in enumerate(full.decoder_self):
        assert maps.cross[layer].shape == (4, tgt, src)
        torch.testing.assert_close(maps.cross[layer], whole[0, :, 1 + src :, 1 : 1 + src])
        torch.testing.assert_close(maps.encoder_self[layer], whole[0, :, 1 : 1 + src, 1 : 1 + src])
        assert bool((maps.cross[layer].sum(-1) <= 1 + 1e-5).all())
