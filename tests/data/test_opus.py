"""seq2seq-download opus: an OPUS Moses zip from a local server standing in for OPUS, checked."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module

from seq2seq.data.corpus import DataConfig
from seq2seq.data.prepare import prepare
from seq2seq.data.tokenizer import TokenizerConfig
from tests.helpers import run_command, serve, shared_en_fa

ENGLISH = ["The file was saved.\r", "Open\tthe menu", "  Close  ", "", "Delete it?"]
PERSIAN = ["پرونده ذخیره شد.", "منو را باز کنید", "بستن", "", "حذفش کنم؟\x07"]
ZIP_PATH = "OPUS-TEP/v1/moses/en-fa.txt.zip"
ARGS = ["opus", "--corpus", "TEP", "--version", "v1", "--pair", "en-fa", "--root", "opus"]


def moses_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
        bundle.writestr("README", "made by the test")
    return buffer.getvalue()


def lines(texts: list[str]) -> bytes:
    return "".join(f"{t}\n" for t in texts).encode()


GOOD = moses_zip({"TEP.en-fa.en": lines(ENGLISH), "TEP.en-fa.fa": lines(PERSIAN)})


def opus_server(tmp_path: Path, archive: bytes) -> Iterator[str]:
    """A local stand-in for OPUS's storage, serving ``archive`` where OPUS keeps TEP v1."""
    target = tmp_path / "served" / ZIP_PATH
    target.parent.mkdir(parents=True)
    target.write_bytes(archive)
    yield from serve(tmp_path / "served")


@pytest.fixture
def good_server(tmp_path: Path) -> Iterator[str]:
    yield from opus_server(tmp_path, GOOD)


def fetch(cwd: Path, server: str, *more: str):
    return run_command("seq2seq-download", *ARGS, "--mirror", server, *more, cwd=cwd)


def nothing_written(root: Path) -> bool:
    return not root.exists() or not [p for p in root.rglob("*") if p.is_file()]


def test_the_corpus_is_fetched_cleaned_and_unpacked(good_server: str, tmp_path: Path) -> None:
    result = fetch(tmp_path, good_server, "--sha256", hashlib.sha256(GOOD).hexdigest())
    assert result.returncode == 0, result.stderr
    en = tmp_path / "opus" / "train" / "opus-TEP-v1.en"
    fa = tmp_path / "opus" / "train" / "opus-TEP-v1.fa"
    assert en.read_text(encoding="utf-8").splitlines() == [
        "The file was saved.", "Open the menu", "Close", "", "Delete it?",
    ]  # fmt: skip
    assert fa.read_text(encoding="utf-8").splitlines()[4] == "حذفش کنم؟"
    assert f"wrote  {Path('opus') / 'train' / 'opus-TEP-v1.en'}" in result.stdout
    assert "TEP v1 en-fa: 5 line-aligned pairs (UTF-8); the zip's sha256 matches" in result.stdout
    assert sorted(p.name for p in (tmp_path / "opus").iterdir()) == ["train"]  # no staging left


def test_the_opus_data_config_trains_on_it_with_the_shared_data(
    good_server: str, tmp_path: Path
) -> None:
    assert fetch(tmp_path, good_server).returncode == 0
    with initialize_config_module("seq2seq.conf", version_base="1.3"):
        cfg = compose("train", overrides=[
            "data=en_fa_opus", f"data.root={shared_en_fa()}", f"data.opus.root={tmp_path / 'opus'}",
        ], return_hydra_config=True)  # fmt: skip
        shared = compose("train", overrides=[f"data.root={shared_en_fa()}"])
    data = DataConfig.from_config(cfg.data)
    assert data.train[:-1] == DataConfig.from_config(shared.data).train
    opus_pairs = list(data.train[-1].pairs(data.root, "en", "fa"))
    assert [p.src for p in opus_pairs][:2] == ["The file was saved.", "Open the menu"]
    small = DataConfig.from_config({**cfg.data, "train": [cfg.data.train[0], cfg.data.train[-1]]})
    report = prepare(small, TokenizerConfig(vocab_size=1000), output_root=tmp_path / "p", seed=1)
    assert report.pairs_read == 1447 + 5


@pytest.mark.parametrize(
    ("archive", "message"),
    [
        (GOOD[: len(GOOD) // 2], "not a valid zip file"),
        (moses_zip({"TEP.en-fa.en": lines(ENGLISH), "TEP.en-fa.fa": lines(PERSIAN[:3])}),
         "the sides are not line-aligned: TEP.en-fa.en has 5, TEP.en-fa.fa has 3 lines"),
        (moses_zip({"TEP.en-fa.en": lines(ENGLISH)}), "the zip has no TEP.en-fa.fa"),
        (moses_zip({"TEP.en-fa.en": lines(ENGLISH), "TEP.en-fa.fa": b"ok\n\xff\xfe\nx\ny\nz\n"}),
         "!TEP.en-fa.fa:2: invalid UTF-8 at byte 0 of the line"),
    ],
)  # fmt: skip
def test_a_bad_archive_is_one_line_and_writes_nothing(
    tmp_path: Path, archive: bytes, message: str
) -> None:
    for server in opus_server(tmp_path, archive):
        result = fetch(tmp_path, server)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {server}/{ZIP_PATH}") and message in line
    assert nothing_written(tmp_path / "opus")


def test_a_wrong_checksum_writes_nothing(good_server: str, tmp_path: Path) -> None:
    result = fetch(tmp_path, good_server, "--sha256", "0" * 64)
    assert result.returncode == 1
    assert f"sha256 mismatch (expected {'0' * 64}, got {hashlib.sha256(GOOD).hexdigest()})" in (
        result.stderr
    )
    assert nothing_written(tmp_path / "opus")


def test_a_missing_corpus_is_one_line(good_server: str, tmp_path: Path) -> None:
    args = [a if a != "v1" else "v9" for a in ARGS]
    result = run_command("seq2seq-download", *args, "--mirror", good_server, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (
        f"error: {good_server}/OPUS-TEP/v9/moses/en-fa.txt.zip: download failed: HTTP 404 "
        "File not found\n"
    )


class _DroppingHandler(http.server.BaseHTTPRequestHandler):
    """Promises the whole zip, sends half of it, and hangs up."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(GOOD)))
        self.end_headers()
        self.wfile.write(GOOD[: len(GOOD) // 2])
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


def test_an_interrupted_download_writes_nothing(tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _DroppingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = fetch(tmp_path, f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        thread.join()
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert f"download interrupted after {len(GOOD) // 2} bytes" in line
    assert line.endswith("not written")
    assert nothing_written(tmp_path / "opus")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["opus", "--root", "x", "--corpus", "TEP"], "opus needs --version, --pair"),
        (["opus", "--root", "x", "--corpus", "T", "--version", "v1", "--pair", "en"],
         "--pair must look like en-fa"),
        (["en-fa", "--root", "x", "--corpus", "TEP"], "go with opus"),
    ],
)  # fmt: skip
def test_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_command("seq2seq-download", *args, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr.splitlines()[-1]
