"""The server's glossary (``--glossary`` and a request's ``glossary``, on both APIs) and its
cache of recent translations (``--cache``), counted in /metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seq2seq.data.glossary import Glossary
from seq2seq.data.normalize import Normalizer
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.translator import Translator
from seq2seq.serve.cache import TranslationCache
from seq2seq.serve.settings import ServerSettings
from tests.serve.conftest import make_client

EN = "the cat sat on the mat."
SERVER = Glossary([("cat", "گربه"), ("mat", "فرش")])
REQUEST = {"MAT": "حصیر"}  # replaces the server's "mat", whatever its case


def constrained(model_dir: Path, phrases: list[str]) -> str:
    translator = Translator.load(model_dir)
    return translator.translate_nbest([EN], constraints=[phrases])[0][0].text


def test_the_servers_glossary_and_a_requests_terms_are_kept_on_both_apis(
    model_dir: Path,
) -> None:
    expected = constrained(model_dir, ["گربه", "حصیر"])
    normalize = Normalizer(Translator.load(model_dir).loaded.spec.tgt_normalization)
    assert normalize("گربه") in expected and normalize("حصیر") in expected
    request = {"q": EN, "source": "en", "target": "fa", "glossary": REQUEST}
    with make_client([model_dir], ServerSettings(glossary=SERVER)) as client:
        libretranslate = client.post("/translate", json=request).json()
        form = client.post("/translate", data={**request, "glossary": json.dumps(REQUEST)}).json()
        native = client.post("/v1/translate", json=request).json()
        servers_own = client.post("/translate", json={**request, "glossary": None}).json()
    assert libretranslate == form == {"translatedText": expected}
    assert native["translations"][0]["candidates"][0]["text"] == expected
    assert servers_own == {"translatedText": constrained(model_dir, ["گربه", "فرش"])}


@pytest.mark.parametrize("glossary", [["cat"], {"cat": ""}, {"": "گربه"}, "not json", 3])
def test_a_glossary_that_is_not_terms_to_terms_is_a_400(model_dir: Path, glossary) -> None:
    request = {"q": EN, "source": "en", "target": "fa", "glossary": glossary}
    with make_client([model_dir]) as client:
        answer = client.post("/translate", json=request)
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "Invalid request: glossary must be a JSON object of source term to target term"
    }


def test_a_glossary_with_sampling_is_a_400_on_the_native_api(model_dir: Path) -> None:
    request = {"q": EN, "source": "en", "target": "fa", "glossary": REQUEST, "sampling": {}}
    with make_client([model_dir]) as client:
        answer = client.post("/v1/translate", json=request)
    assert answer.status_code == 400
    assert "kept by beam search, not by sampling" in answer.json()["error"]


def test_cached_sentences_are_not_decoded_again_and_metrics_count_them(model_dir: Path) -> None:
    with make_client([model_dir], ServerSettings(cache_size=8)) as client:
        first = client.post("/translate", json={"q": EN, "source": "en", "target": "fa"})
        again = client.post("/translate", json={"q": [EN, "the dog ran."], "source": "en",
                                                "target": "fa"})  # fmt: skip
        metrics = client.get("/metrics").text
    assert again.json()["translatedText"][0] == first.json()["translatedText"]
    assert 'seq2seq_cache_lookups_total{result="hit"} 1.0' in metrics
    assert 'seq2seq_cache_lookups_total{result="miss"} 2.0' in metrics
    assert "seq2seq_batch_sentences_sum 2.0" in metrics  # the hit was not decoded


def test_the_cache_drops_the_least_recently_used_and_zero_keeps_nothing() -> None:
    lookups: list[bool] = []
    cache = TranslationCache(2, on_lookup=lookups.append)
    cache.put("a", ["A"])
    cache.put("b", ["B"])
    assert cache.get("a") == ["A"]  # "a" is now the most recent
    cache.put("c", ["C"])
    assert (cache.get("b"), cache.get("a"), cache.get("c")) == (None, ["A"], ["C"])
    assert lookups == [True, False, True, True]
    nothing = TranslationCache(0, on_lookup=lookups.append)
    nothing.put("a", ["A"])
    assert nothing.get("a") is None and len(lookups) == 4


def test_the_cache_keeps_apart_what_decides_a_translation(model_dir: Path) -> None:
    with make_client([model_dir], ServerSettings(cache_size=8)) as client:
        plain = client.post("/translate", json={"q": EN, "source": "en", "target": "fa"})
        kept = client.post("/translate", json={"q": EN, "source": "en", "target": "fa",
                                               "glossary": REQUEST})  # fmt: skip
        greedy = client.post("/v1/translate", json={"q": EN, "source": "en", "target": "fa",
                                                     "beam_size": 1})  # fmt: skip
    translator = Translator.load(model_dir)
    assert plain.json()["translatedText"] == translator.translate([EN])[0]
    assert kept.json()["translatedText"] == constrained(model_dir, ["حصیر"])
    expected = translator.translate([EN], options=DecodingOptions(beam_size=1))[0]
    assert greedy.json()["translations"][0]["candidates"][0]["text"] == expected
