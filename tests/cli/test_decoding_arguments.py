"""The decoding options of seq2seq-translate and seq2seq-eval: one DecodingOptions, its
defaults, and one usage line for an impossible combination."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

import pytest

from seq2seq.cli.common import add_decoding_arguments
from seq2seq.cli.eval import parse_args as eval_args
from seq2seq.cli.translate import parse_args as translate_args
from seq2seq.inference.options import DecodingOptions, Sampling


def test_defaults_are_the_decoding_options_defaults(model_dir: Path) -> None:
    assert translate_args(["-m", str(model_dir)]).decoding == DecodingOptions()
    evaluated = eval_args(["-m", str(model_dir), "-t", "flores200-dev"])
    assert evaluated.decoding == DecodingOptions()


def test_every_option_reaches_the_decoding_options(model_dir: Path) -> None:
    args = translate_args([
        "-m", str(model_dir), "--beam", "4", "--nbest", "2", "--alpha", "0.6",
        "--max-len-a", "0", "--max-len-b", "7", "--min-len", "3", "--max-batch-tokens", "99",
    ])  # fmt: skip
    assert args.decoding == DecodingOptions(
        beam_size=4, nbest=2, alpha=0.6, max_len_a=0, max_len_b=7, min_len=3, max_batch_tokens=99
    )
    drawn = translate_args(["-m", str(model_dir), "--sample", "--top-k", "5", "--seed", "3"])
    assert drawn.decoding.sampling == Sampling(top_k=5, seed=3)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--beam", "2", "--nbest", "3"], "nbest (3) exceeds beam_size (2)"),
        (["--sample", "--nbest", "2"], "sampling draws one translation per sentence, not nbest"),
        (["--sample", "--temperature", "0"], "need temperature > 0, 0 < top_p <= 1 and top_k >= 0"),
        (["--min-len", "-1"], "max_len_a, max_len_b and min_len must be >= 0"),
    ],
)
def test_an_impossible_combination_is_one_usage_line(
    model_dir: Path, arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        translate_args(["-m", str(model_dir), *arguments])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(message)


@pytest.mark.parametrize("candidates", [True, False])
def test_every_field_is_a_flag_with_its_help(
    candidates: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A field added to DecodingOptions or Sampling is a flag, with its help, without more code;
    the entry points that write one translation per line skip --nbest and the sampling flags."""
    monkeypatch.setenv("COLUMNS", "500")  # no help wrapped over two lines
    parser = argparse.ArgumentParser()
    add_decoding_arguments(parser, candidates=candidates)
    options = [*fields(DecodingOptions), *fields(Sampling)]
    if not candidates:
        options = [f for f in fields(DecodingOptions) if f.name not in ("nbest", "sampling")]
    taken = set(vars(parser.parse_args([]))) - {"precision", "device", "pack_weights", "shortlist"}
    assert taken == {f.name for f in options}
    text = parser.format_help()
    flags = ["--beam", "--alpha", "--max-len-a", "--max-len-b", "--min-len", "--max-batch-tokens"]
    if candidates:
        flags += ["--nbest", "--sample", "--temperature", "--top-k", "--top-p", "--seed"]
    assert all(f"  {flag} " in text for flag in flags)
    assert all(option.metadata["help"] in text for option in options)
