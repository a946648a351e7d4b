"""LibreTranslate's endpoints: request shapes, answers and errors as its clients expect them."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.translator import Translator
from seq2seq.serve.batching import BatchingSettings
from seq2seq.serve.limits import RequestLimits
from seq2seq.serve.settings import ServerSettings
from tests.serve.conftest import make_client

EN = "the cat sat on the mat."


def alone(model_dir: Path, text: str) -> str:
    """What the model makes of ``text`` translated by itself (beam 5, as the server does)."""
    return Translator.load(model_dir).translate([text])[0]


def test_a_json_request_gets_the_translation_of_its_text(
    client: TestClient, model_dir: Path
) -> None:
    response = client.post("/translate", json={"q": EN, "source": "en", "target": "fa"})
    assert response.status_code == 200
    assert response.json() == {"translatedText": alone(model_dir, EN)}


def test_a_form_request_and_a_list_of_texts(client: TestClient, model_dir: Path) -> None:
    form = client.post("/translate", data={"q": EN, "source": "en", "target": "fa"})
    assert form.json() == {"translatedText": alone(model_dir, EN)}
    texts = [EN, "a dog.", EN]
    listed = client.post("/translate", json={"q": texts, "source": "en", "target": "fa"})
    assert listed.json() == {"translatedText": [alone(model_dir, t) for t in texts]}


def test_the_reverse_direction_uses_the_other_model(
    client: TestClient, reverse_model_dir: Path
) -> None:
    response = client.post("/translate", json={"q": "گربه", "source": "fa", "target": "en"})
    assert response.json() == {"translatedText": alone(reverse_model_dir, "گربه")}


def test_sentences_are_translated_one_by_one_and_paragraphs_kept(
    client: TestClient, model_dir: Path
) -> None:
    text = "the cat sat. Mr. Smith came home!\n\nthe dog ran."
    response = client.post("/translate", json={"q": text, "source": "en", "target": "fa"})
    parts = [alone(model_dir, s) for s in ("the cat sat.", "Mr. Smith came home!", "the dog ran.")]
    assert response.json()["translatedText"] == f"{parts[0]} {parts[1]}\n\n{parts[2]}"


def test_html_keeps_tags_and_attributes_and_translates_text_nodes(
    client: TestClient, model_dir: Path
) -> None:
    markup = '<p class="lead" data-x="1">the cat sat.<br/><a href="/a?b=1&amp;c=2">a dog</a></p>'
    response = client.post(
        "/translate", json={"q": markup, "source": "en", "target": "fa", "format": "html"}
    )
    cat, dog = alone(model_dir, "the cat sat."), alone(model_dir, "a dog")
    expected = f'<p class="lead" data-x="1">{cat}<br/><a href="/a?b=1&amp;c=2">{dog}</a></p>'
    assert response.json()["translatedText"] == expected


def test_alternatives_come_from_the_beam(client: TestClient, model_dir: Path) -> None:
    response = client.post(
        "/translate", json={"q": EN, "source": "en", "target": "fa", "alternatives": 2}
    )
    nbest = Translator.load(model_dir).translate_nbest([EN], options=DecodingOptions(nbest=3))[0]
    assert response.json() == {
        "translatedText": nbest[0].text,
        "alternatives": [c.text for c in nbest[1:]],
    }


def test_auto_detects_the_source_by_script(client: TestClient, reverse_model_dir: Path) -> None:
    response = client.post("/translate", json={"q": "گربه روی", "source": "auto", "target": "en"})
    assert response.json() == {
        "translatedText": alone(reverse_model_dir, "گربه روی"),
        "detectedLanguage": {"confidence": 100.0, "language": "fa"},
    }


def test_languages_and_detect(client: TestClient) -> None:
    assert client.get("/languages").json() == [
        {"code": "en", "name": "English", "targets": ["fa"]},
        {"code": "fa", "name": "Persian", "targets": ["en"]},
    ]
    assert client.post("/detect", data={"q": "سلام دنیا"}).json() == [
        {"confidence": 100.0, "language": "fa"},
        {"confidence": 0.0, "language": "en"},
    ]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"q": None}, "missing q parameter"),
        ({"q": ""}, "missing q parameter"),
        ({"source": None}, "missing source parameter"),
        ({"q": 5}, "q must be a string or a list of strings"),
        ({"q": ["a", 1]}, "q must be a string or a list of strings"),
        ({"target": "de"}, "no model translates en to de"),
        ({"source": "auto", "target": "de"}, "no model translates to de"),
        ({"format": "pdf"}, "format must be text or html"),
        ({"alternatives": 9}, "alternatives must be a whole number from 0 to 4"),
        ({"alternatives": "x"}, "alternatives must be a whole number"),
    ],
)
def test_a_bad_request_is_400_with_one_error_line(
    client: TestClient, change: dict, error: str
) -> None:
    body = {"q": "hi", "source": "en", "target": "fa"} | change
    response = client.post("/translate", json={k: v for k, v in body.items() if v is not None})
    assert (response.status_code, response.json()) == (400, {"error": f"Invalid request: {error}"})


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b'{"q": "hi", ', "Invalid request: invalid JSON (Expecting property name enclosed in "
                          "double quotes at line 1 column 13)"),
        (b'["hi"]', "Invalid request: the JSON body must be an object"),
        (b'{"q": "\xff\xfe"}', "Invalid request: body is not UTF-8 (byte 7)"),
    ],
)  # fmt: skip
def test_a_body_that_is_not_a_json_object_is_400(
    client: TestClient, content: bytes, error: str
) -> None:
    response = client.post(
        "/translate", content=content, headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()) == (400, {"error": error})


def test_text_over_the_limits_is_413(model_dir: Path) -> None:
    settings = ServerSettings(limits=RequestLimits(max_chars=20, max_texts=2, max_body_bytes=200))
    with make_client([model_dir], settings) as client:
        chars = client.post("/translate", json={"q": "x" * 21, "source": "en", "target": "fa"})
        texts = client.post("/translate", json={"q": ["a"] * 3, "source": "en", "target": "fa"})
        body = client.post("/translate", json={"q": "y" * 300, "source": "en", "target": "fa"})
        chunked = client.post(
            "/translate", content=iter([b'{"q": "', b"z" * 300, b'"}']),
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        within = client.post("/translate", json={"q": "x" * 20, "source": "en", "target": "fa"})
    assert (chars.status_code, chars.json()) == (
        413, {"error": "Invalid request: request (21) exceeds text limit (20)"})  # fmt: skip
    assert (texts.status_code, texts.json()) == (
        413, {"error": "Invalid request: 3 texts exceed the limit of 2"})  # fmt: skip
    for response in (body, chunked):
        assert (response.status_code, response.json()) == (
            413, {"error": "Request body exceeds the limit of 200 bytes"})  # fmt: skip
    assert within.status_code == 200


def test_api_keys_are_required_and_rate_limited(model_dir: Path) -> None:
    settings = ServerSettings(api_keys={"alpha": 2, "beta": 0})
    request = {"q": "hi", "source": "en", "target": "fa"}
    with make_client([model_dir], settings) as client:
        missing = client.post("/translate", json=request)
        wrong = client.post("/translate", json={**request, "api_key": "gamma"})
        alpha = [client.post("/translate", json={**request, "api_key": "alpha"}) for _ in range(3)]
        beta = [client.post("/translate", json={**request, "api_key": "beta"}) for _ in range(5)]
    assert [r.status_code for r in (missing, wrong)] == [403, 403]
    assert missing.json() == {"error": "Invalid API key"}
    assert [r.status_code for r in alpha] == [200, 200, 429]
    assert alpha[2].json() == {"error": "Slowdown: too many requests"}
    assert alpha[2].headers["Retry-After"] == "30"
    assert [r.status_code for r in beta] == [200] * 5  # rate 0: no limit


def test_clients_without_keys_are_limited_by_address(model_dir: Path) -> None:
    with make_client([model_dir], ServerSettings(requests_per_minute=1)) as client:
        codes = [
            client.post("/detect", json={"q": "hi"}).status_code,
            client.post("/detect", json={"q": "hi"}).status_code,
        ]
    assert codes == [200, 429]


def test_a_failing_model_is_a_500_line_and_the_server_goes_on(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    translate_nbest = Translator.translate_nbest

    def fails_on_boom(self, sentences, **kwargs):
        if "boom" in sentences:
            raise RuntimeError("out of memory")
        return translate_nbest(self, sentences, **kwargs)

    monkeypatch.setattr(Translator, "translate_nbest", fails_on_boom)
    request = {"source": "en", "target": "fa"}
    with make_client([model_dir], raise_errors=False) as client:
        failed = client.post("/translate", json={**request, "q": "boom"})
        after = client.post("/translate", json={**request, "q": EN})
    assert (failed.status_code, failed.json()) == (
        500,
        {"error": "Translation failed: RuntimeError"},
    )
    assert after.json() == {"translatedText": alone(model_dir, EN)}


def test_a_full_queue_answers_503_at_once_and_the_queued_requests_complete(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    translate_nbest, busy, release = (
        Translator.translate_nbest,
        threading.Event(),
        threading.Event(),
    )

    def held(self, sentences, **kwargs):
        busy.set()
        release.wait(timeout=60)
        return translate_nbest(self, sentences, **kwargs)

    monkeypatch.setattr(Translator, "translate_nbest", held)
    settings = ServerSettings(batching=BatchingSettings(max_queue=1))
    request = {"q": EN, "source": "en", "target": "fa"}
    with make_client([model_dir], settings) as client, ThreadPoolExecutor(2) as pool:
        decoding = pool.submit(client.post, "/translate", json=request)
        assert busy.wait(timeout=60)  # the worker holds the first request
        queued = pool.submit(client.post, "/translate", json=request)
        deadline = time.monotonic() + 60
        while "seq2seq_queue_depth 1.0" not in client.get("/metrics").text:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        refused = client.post("/translate", json=request)
        release.set()
        answers = [decoding.result(timeout=60), queued.result(timeout=60)]
    assert (refused.status_code, refused.headers["Retry-After"]) == (503, "1")
    assert refused.json() == {"error": "Server busy: too many requests waiting, retry later"}
    assert [a.json() for a in answers] == [{"translatedText": alone(model_dir, EN)}] * 2


def test_unknown_paths_and_methods_answer_json(client: TestClient) -> None:
    assert client.get("/nowhere").json() == {"error": "Not Found"}
    wrong_method = client.get("/translate")
    assert (wrong_method.status_code, wrong_method.json()) == (405, {"error": "Method Not Allowed"})
