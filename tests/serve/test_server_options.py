"""The server's decoding options, as its command line gives them, bind both APIs: a request
may choose its search but never lengthen the outputs beyond the server's limits."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from seq2seq.cli.serve import parse_args, server_settings
from seq2seq.inference.options import DecodingOptions, Sampling
from seq2seq.inference.translator import Translator
from seq2seq.serve.native import NativeRequest, request_options
from seq2seq.serve.settings import ServerSettings
from tests.serve.conftest import make_client

EN = "the cat sat on the mat with the three red books."
TEXT = {"q": EN, "source": "en", "target": "fa"}
DEFAULT = DecodingOptions()


def started_with(model_dir: Path, *arguments: str) -> TestClient:
    """An in-process server for ``model_dir`` with the decoding options of ``arguments``."""
    options = parse_args(["-m", str(model_dir), *arguments]).decoding
    return make_client([model_dir], ServerSettings(options=options))


def answers(client: TestClient) -> list[str]:
    """EN's translation by LibreTranslate's API, by the native one, and by the native one
    asked for longer outputs."""
    libre = client.post("/translate", json=TEXT).json()["translatedText"]
    native = [
        client.post("/v1/translate", json={**TEXT, **asked}).json()["translations"][0]
        for asked in ({}, {"max_len_a": 3, "max_len_b": 50})
    ]
    return [libre, *(n["candidates"][0]["text"] for n in native)]


def test_the_servers_length_limits_bind_both_apis(model_dir: Path) -> None:
    translator = Translator.load(model_dir)
    two_tokens = DecodingOptions(max_len_a=0, max_len_b=2)  # at most 2 tokens (test_search.py)
    short, long = (translator.translate([EN], options=o)[0] for o in (two_tokens, DEFAULT))
    assert len(short) < len(long)
    with started_with(model_dir, "--max-len-a", "0", "--max-len-b", "2") as limited:
        assert answers(limited) == [short] * 3
    with started_with(model_dir) as unlimited:
        assert answers(unlimited) == [long] * 3


def test_a_request_chooses_its_search_within_the_servers_limits() -> None:
    server = DecodingOptions(beam_size=2, max_len_a=1.0, max_len_b=4, max_batch_tokens=99)
    asked = NativeRequest(**TEXT, beam_size=3, alpha=0.5, min_len=2, max_len_a=2, max_len_b=1)
    assert request_options(asked, server) == DecodingOptions(
        beam_size=3, alpha=0.5, min_len=2, max_len_a=1.0, max_len_b=1, max_batch_tokens=99
    )
    assert request_options(NativeRequest(**TEXT), server) == server
    drawn = request_options(NativeRequest(**TEXT, beam_size=1, sampling={"top_k": 5}), server)
    assert drawn == DecodingOptions(
        beam_size=1, max_len_a=1.0, max_len_b=4, max_batch_tokens=99, sampling=Sampling(top_k=5)
    )


def test_glossary_and_cache_flags_give_the_servers_settings(model_dir: Path, tmp_path) -> None:
    (tmp_path / "terms.tsv").write_text("cat\tگربه\nthe mat\tفرش\n", encoding="utf-8")
    arguments = ["-m", str(model_dir), "--glossary", str(tmp_path / "terms.tsv"), "--cache", "64"]
    settings = server_settings(parse_args(arguments))
    assert settings.glossary.entries == (("cat", "گربه"), ("the mat", "فرش"))
    assert settings.cache_size == 64
    plain = server_settings(parse_args(["-m", str(model_dir)]))
    assert (plain.glossary.entries, plain.cache_size) == ((), 0)
