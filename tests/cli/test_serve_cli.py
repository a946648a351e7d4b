"""seq2seq-serve as users run it: a live server on 127.0.0.1, spoken to by the real
LibreTranslate client, stopped by a signal, and left by clients mid-request."""

from __future__ import annotations

import http.client
import json
import shutil
import signal
import socket
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from libretranslatepy import LibreTranslateAPI

from seq2seq.cli.serve import main as serve_main
from seq2seq.export.engine import cache_folder, stamp_of
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.translator import Translator
from tests.helpers import live_server, run_command


@pytest.fixture(scope="module")
def server(model_dir: Path, reverse_model_dir: Path, tmp_path_factory) -> str:
    with live_server("-m", str(model_dir), "-m", str(reverse_model_dir),
                     cwd=tmp_path_factory.mktemp("serve")) as (_process, url):  # fmt: skip
        yield url


def post(url: str, body: dict, *, timeout: float = 120) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_the_libretranslate_client_translates_detects_and_lists(
    server: str, model_dir: Path, reverse_model_dir: Path
) -> None:
    client = LibreTranslateAPI(server)
    assert (
        client.translate("the cat sat.", "en", "fa")
        == (Translator.load(model_dir).translate(["the cat sat."])[0])
    )
    assert (
        client.translate("گربه نشست.", "fa", "en")
        == (Translator.load(reverse_model_dir).translate(["گربه نشست."])[0])
    )
    assert client.detect("گربه نشست") == [
        {"confidence": 100.0, "language": "fa"}, {"confidence": 0.0, "language": "en"},
    ]  # fmt: skip
    assert [(lang["code"], lang["targets"]) for lang in client.languages()] == [
        ("en", ["fa"]), ("fa", ["en"])
    ]  # fmt: skip


def test_clients_that_leave_mid_request_do_not_harm_the_server(server: str) -> None:
    host, port = server.removeprefix("http://").split(":")
    body = json.dumps({"q": "the cat sat. " * 40, "source": "en", "target": "fa"}).encode()
    head = (f"POST /translate HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()  # fmt: skip
    for sent in (head + body[:10], head + body):  # half a body; a whole one, then gone
        before = _answered(server)
        with socket.create_connection((host, int(port))) as connection:
            connection.sendall(sent)
        deadline = time.monotonic() + 60
        while _answered(server) == before:  # until the server is done with it
            assert time.monotonic() < deadline
            time.sleep(0.01)
    status, answer = post(f"{server}/translate", {"q": "a dog.", "source": "en", "target": "fa"})
    assert status == 200 and isinstance(answer["translatedText"], str)
    assert post(f"{server}/translate", {"q": 1, "source": "en", "target": "fa"})[0] == 400


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_signal_finishes_the_requests_in_flight_then_stops(
    model_dir: Path, tmp_path: Path, stop: signal.Signals
) -> None:
    with live_server("-m", str(model_dir), "--max-len-b", "60", cwd=tmp_path) as (process, url):
        text = " ".join(f"Sentence number {i} is here." for i in range(60))
        answers: list[tuple[int, dict]] = []
        client = threading.Thread(target=lambda: answers.append(
            post(f"{url}/translate", {"q": text, "source": "en", "target": "fa"})))  # fmt: skip
        client.start()
        deadline = time.monotonic() + 60
        while "seq2seq_batch_sentences_count 1.0" not in _metrics(url):  # decoding it now
            assert time.monotonic() < deadline
            time.sleep(0.01)
        process.send_signal(stop)
        client.join(timeout=120)
        # uvicorn re-raises the signal once the requests in flight are answered: the server
        # ends as the signal's default action ends a process, which service managers expect.
        assert process.wait(timeout=60) == -stop
    [(status, answer)] = answers
    assert status == 200
    assert answer["translatedText"].count("\n") == 0 and answer["translatedText"]
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=5)


def _metrics(url: str) -> str:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        return response.read().decode()


def _answered(url: str) -> float:
    """The requests to /translate the server has finished with, whatever their status."""
    lines = _metrics(url).splitlines()
    prefix = 'seq2seq_requests_total{endpoint="/translate",'
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(prefix))


def test_two_models_of_another_vocabulary_for_one_direction_are_one_error_line(
    model_dir: Path, other_vocabulary_dir: Path, tmp_path: Path
) -> None:
    """Models of one direction are served as an ensemble, which needs one vocabulary."""
    result = run_command(
        "seq2seq-serve", "-m", str(model_dir), "-m", str(other_vocabulary_dir), cwd=tmp_path
    )
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {other_vocabulary_dir}/spm.model: not the vocabulary of ")


def test_a_bad_glossary_line_is_one_error_line(model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "terms.tsv").write_text("cat\tگربه\nmat\n", encoding="utf-8")
    result = run_command("seq2seq-serve", "-m", str(model_dir), "--glossary", "terms.tsv",
                         cwd=tmp_path)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: terms.tsv:2: expected 'source term<TAB>target term', two non-empty fields"
    )


def test_a_port_in_use_is_one_error_line(model_dir: Path, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_command("seq2seq-serve", "-m", str(model_dir), "--port", str(port),
                             cwd=tmp_path)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use"
    )


def test_without_the_serve_extra_it_says_what_to_install(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if not installed
    with pytest.raises(SystemExit) as stopped:
        serve_main(["-m", str(model_dir)])
    assert stopped.value.code == "error: seq2seq-serve needs uvicorn: pip install 'seq2seq[serve]'"


def test_libretranslate_requests_go_to_ctranslate2_with_our_greedy_answers(
    model_dir: Path, tmp_path: Path
) -> None:
    """``--engine auto``: the model is converted once into its folder; LibreTranslate's
    requests decode there, the native API's (which carry scores) with ours."""
    model = Path(shutil.copytree(model_dir, tmp_path / "model"))
    sentences = ["the red books are small.", "we bought three books."]
    with live_server("-m", str(model), "--beam", "1", cwd=tmp_path) as (_process, url):
        answers = [post(f"{url}/translate", {"q": s, "source": "en", "target": "fa"})[1]
                   for s in sentences]  # fmt: skip
        status, native = post(f"{url}/v1/translate", {"q": sentences[0], "source": "en",
                                                      "target": "fa"})  # fmt: skip
        metrics = _metrics(url)
    ours = Translator.load(model).translate(sentences, options=DecodingOptions(beam_size=1))
    assert [a["translatedText"] for a in answers] == ours
    assert status == 200 and native["translations"][0]["candidates"][0]["text"] == ours[0]
    assert 'seq2seq_engine_requests_total{engine="ctranslate2"} 2.0' in metrics
    assert 'seq2seq_engine_requests_total{engine="torch"} 1.0' in metrics
    assert (cache_folder(model, stamp_of(model)) / "model.bin").is_file()


def test_engine_torch_decodes_everything_with_ours(model_dir: Path, tmp_path: Path) -> None:
    model = Path(shutil.copytree(model_dir, tmp_path / "model"))
    with live_server("-m", str(model), "--engine", "torch", cwd=tmp_path) as (_process, url):
        post(f"{url}/translate", {"q": "a cat.", "source": "en", "target": "fa"})
        metrics = _metrics(url)
    assert 'seq2seq_engine_requests_total{engine="torch"} 1.0' in metrics
    assert "ctranslate2" not in metrics


def test_engine_ctranslate2_for_an_ensemble_is_one_error_line(
    model_dir: Path, tmp_path: Path
) -> None:
    twin = shutil.copytree(model_dir, tmp_path / "twin")
    result = run_command("seq2seq-serve", "-m", str(model_dir), "-m", str(twin), "--engine",
                         "ctranslate2", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: --engine ctranslate2: an ensemble decodes with our decoder only"
    )


def test_each_address_of_127_0_0_0_8_has_its_own_rate(model_dir: Path, tmp_path: Path) -> None:
    """The limit follows the client's address, as the server sees it on its socket."""
    args = ("-m", str(model_dir), "--req-limit", "1", "--engine", "torch")
    with live_server(*args, cwd=tmp_path) as (_process, url):
        host, port = url.removeprefix("http://").split(":")
        body = json.dumps({"q": "a cat.", "source": "en", "target": "fa"})

        def status(source: str) -> int:
            connection = http.client.HTTPConnection(host, int(port), source_address=(source, 0))
            connection.request("POST", "/translate", body, {"Content-Type": "application/json"})
            answered = connection.getresponse().status
            connection.close()
            return answered

        sources = ["127.0.0.2", "127.3.4.5", "127.255.254.253"]
        assert [status(s) for s in sources] == [200, 200, 200]
        assert [status(s) for s in sources] == [429, 429, 429]
