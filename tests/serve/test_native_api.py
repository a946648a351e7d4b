"""The native API (n-best with scores, search and sampling options, cross-attention), the
OpenAPI document, health and metrics."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from fastapi.testclient import TestClient

from seq2seq.analysis.attention import sentence_attention
from seq2seq.inference.options import DecodingOptions, Sampling
from seq2seq.inference.translator import Translator
from seq2seq.serve.native import NativeRequest, SamplingRequest, TextsRequest
from seq2seq.serve.settings import ServerSettings
from tests.serve.conftest import make_client

EN = "the cat sat on the mat."


def test_nbest_with_scores_and_the_beam_size(client: TestClient, model_dir: Path) -> None:
    response = client.post("/v1/translate", json={
        "q": [EN], "source": "en", "target": "fa", "beam_size": 4, "nbest": 3, "alpha": 0.6,
    })  # fmt: skip
    expected = Translator.load(model_dir).translate_nbest(
        [EN], options=DecodingOptions(beam_size=4, nbest=3, alpha=0.6)
    )[0]
    assert response.status_code == 200
    assert response.json() == {"translations": [{
        "candidates": [{"text": c.text, "score": c.score} for c in expected], "attention": None,
    }]}  # fmt: skip


def test_sampling_is_seeded(client: TestClient, model_dir: Path) -> None:
    sampling = {"temperature": 1.5, "top_k": 20, "top_p": 0.9, "seed": 7}
    request = {"q": EN, "source": "en", "target": "fa", "sampling": sampling}
    first, second = (client.post("/v1/translate", json=request).json() for _ in range(2))
    drawn = Translator.load(model_dir).translate(
        [EN], options=DecodingOptions(sampling=Sampling(1.5, 20, 0.9, 7))
    )
    assert first == second
    assert first["translations"][0]["candidates"] == [{"text": drawn[0], "score": None}]


def test_cross_attention_of_each_sentence_averaged_over_heads(
    client: TestClient, model_dir: Path
) -> None:
    text = "the cat sat. The dog ran."
    answer = client.post(
        "/v1/translate", json={"q": text, "source": "en", "target": "fa", "attention": True}
    ).json()
    attention = answer["translations"][0]["attention"]
    assert [a["source"] for a in attention] == ["the cat sat.", "The dog ran."]
    translator = Translator.load(model_dir)
    for sentence in attention:
        assert sentence["translation"] == translator.translate([sentence["source"]])[0]
        maps = sentence_attention(translator.loaded, sentence["source"], sentence["translation"])
        assert sentence["source_tokens"] == maps.src_tokens
        assert sentence["target_tokens"] == maps.tgt_tokens
        expected = [layer.mean(0) for layer in maps.cross]
        assert len(sentence["layers"]) == len(expected) == 1
        for got, want in zip(sentence["layers"], expected, strict=True):
            assert len(got) == want.shape[0] and len(got[0]) == want.shape[1]
            assert all(abs(sum(row) - 1) < 1e-3 for row in got)  # a distribution per query
            assert max(abs(g - w) for gr, wr in zip(got, want.tolist(), strict=True)
                       for g, w in zip(gr, wr, strict=True)) < 1e-3  # fmt: skip


def test_native_errors_are_one_json_line(client: TestClient) -> None:
    def error(body: dict) -> tuple[int, dict]:
        response = client.post("/v1/translate", json=body)
        return response.status_code, response.json()

    base = {"q": EN, "source": "en", "target": "fa"}
    assert error({**base, "nbest": 6, "beam_size": 5}) == (
        400, {"error": "Invalid request: decoding: nbest (6) exceeds beam_size (5)"})  # fmt: skip
    too_small = "Invalid request: beam_size: Input should be greater than or equal to 1"
    assert error({**base, "beam_size": 0}) == (400, {"error": too_small})
    assert error({**base, "target": "de"}) == (
        400, {"error": "Invalid request: no model translates en to de"})  # fmt: skip
    assert error({"source": "en", "target": "fa"}) == (
        400, {"error": "Invalid request: q: Field required"})  # fmt: skip
    invalid = client.post(
        "/v1/translate", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert invalid.status_code == 400 and invalid.json()["error"].startswith("Invalid request: ")


def test_every_decoding_option_is_a_request_field_with_its_help() -> None:
    """A field added to DecodingOptions or Sampling is in the request without more code; only
    how the server batches is not a request's to choose."""
    options = set(NativeRequest.model_fields) - set(TextsRequest.model_fields)
    assert options == {f.name for f in fields(DecodingOptions)} - {"max_batch_tokens"}
    assert set(SamplingRequest.model_fields) == {f.name for f in fields(Sampling)}
    for model, dataclass in ((NativeRequest, DecodingOptions), (SamplingRequest, Sampling)):
        for option in fields(dataclass):
            if option.name in model.model_fields:
                assert model.model_fields[option.name].description == option.metadata["help"]


def test_the_openapi_document_describes_the_native_api(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert "/v1/translate" in document["paths"]
    schemas = document["components"]["schemas"]
    assert set(schemas["NativeRequest"]["properties"]) == set(NativeRequest.model_fields)
    assert set(schemas["SamplingRequest"]["properties"]) == {f.name for f in fields(Sampling)}
    assert client.get("/docs").status_code == 200


def test_health_and_metrics(client: TestClient) -> None:
    client.post("/translate", json={"q": [EN, "a dog."], "source": "en", "target": "fa"})
    client.post("/translate", json={"q": "", "source": "en", "target": "fa"})
    assert client.get("/health").json() == {
        "status": "ok",
        "models": ["en-fa", "fa-en"],
        "queue": 0,
    }
    metrics = client.get("/metrics").text
    assert 'seq2seq_requests_total{endpoint="/translate",status="200"} 1.0' in metrics
    assert 'seq2seq_requests_total{endpoint="/translate",status="400"} 1.0' in metrics
    assert "seq2seq_batch_sentences_sum 2.0" in metrics
    assert "seq2seq_queue_depth 0.0" in metrics
    assert 'seq2seq_request_seconds_count{endpoint="/translate",status="200"} 1.0' in metrics


def test_the_page_and_its_files_are_served_from_the_package(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "<textarea" in page.text
    for name in ("page.js", "page.css"):
        assert client.get(f"/static/{name}").status_code == 200
    assert "http" not in page.text.replace('href="/', "").split("<body>")[0]  # no CDN


def test_the_native_api_admits_by_the_same_keys_and_rates(model_dir: Path) -> None:
    """One admission serves both APIs: a key's requests count together, whichever API."""
    settings = ServerSettings(api_keys={"alpha": 2})
    body = {"q": "hi", "source": "en", "target": "fa"}
    with make_client([model_dir], settings) as client:
        missing = client.post("/v1/translate", json=body)
        first = client.post("/translate", json={**body, "api_key": "alpha"})
        native = [client.post("/v1/translate", json={**body, "api_key": "alpha"}) for _ in "ab"]
    assert (missing.status_code, missing.json()) == (403, {"error": "Invalid API key"})
    assert [r.status_code for r in (first, *native)] == [200, 200, 429]
