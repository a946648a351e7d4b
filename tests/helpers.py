"""Running the console scripts as a user would, and finding the shared data."""

from __future__ import annotations

import functools
import http.server
import os
import re
import selectors
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_EN_FA = REPO.parent / "shared" / "data" / "en-fa"
MAX_POSITIONS = 32  # of the model_dir fixture


def shared_en_fa() -> Path:
    """The en-fa data beside the checkout (CI lays shared/ there); skip the test without it."""
    if not SHARED_EN_FA.is_dir():
        pytest.skip(f"no shared data at {SHARED_EN_FA}")
    return SHARED_EN_FA


CACHE_VARIABLE = "SEQ2SEQ_TEST_DATA_CACHE"


def data_cache() -> Path:
    """The test run's one folder of generated demo corpora and prepared data. Both are named
    by what defines them and published by an atomic rename, so every training run of the
    tests can share them: each configuration is prepared once per test run, not per test."""
    return Path(os.environ[CACHE_VARIABLE])


def run_command(
    name: str, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run the installed console script ``name`` (e.g. seq2seq-prepare) in ``cwd``."""
    script = Path(sys.executable).parent / name
    return subprocess.run(
        [str(script), *args], cwd=cwd, capture_output=True, text=True, timeout=600, env=env
    )


def like_a_terminal() -> None:
    """``preexec_fn`` for a child that a test interrupts with SIGINT: Ctrl-C's default action,
    as for a command typed at a terminal. A test runner started in the background by a shell
    without job control inherits SIGINT ignored, and so would the child."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def serve(directory: Path) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 serving ``directory``; yields its base URL."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()


@contextmanager
def live_server(*args: str, cwd: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    """``seq2seq-serve ARGS --port 0`` on 127.0.0.1; yields the process and its base URL once
    it listens, and stops it (SIGTERM) afterwards if the test has not."""
    script = Path(sys.executable).parent / "seq2seq-serve"
    process = subprocess.Popen(
        [str(script), *args, "--port", "0"], cwd=cwd, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=like_a_terminal,
    )  # fmt: skip
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            ready = selector.select(timeout=120)
        line = process.stdout.readline() if ready else ""
        found = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert found, f"no address printed: {line!r} {process.stderr.read() if not ready else ''}"
        yield process, found.group()
    finally:
        if process.poll() is None:
            process.terminate()
        process.communicate(timeout=60)


class Payload:
    """A pickle payload: unpickling it creates ``marker``, the proof that loading ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


class ParsedHtml(HTMLParser):
    """The text of an HTML document, its start tags as written, and whether its tags nest."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text, self.starts, self.open, self.nested = "", [], [], True
        self.feed(markup)

    def handle_starttag(self, tag, attrs) -> None:
        self.open.append(tag)
        self.starts.append(self.get_starttag_text())

    def handle_endtag(self, tag) -> None:
        self.nested &= bool(self.open) and self.open.pop() == tag

    def handle_data(self, data) -> None:
        self.text += data
