"""Fixtures of the server tests: an in-process client of the application."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from seq2seq.inference.translator import Translator
from seq2seq.serve.app import create_app
from seq2seq.serve.settings import ServerSettings

DEFAULT = ServerSettings()


def make_client(
    model_dirs: list[Path], settings: ServerSettings = DEFAULT, *, raise_errors: bool = True
) -> TestClient:
    """An in-process client of a server for ``model_dirs``; use it in a ``with`` block.
    ``raise_errors=False`` shows what a real client sees of a server error: the response."""
    app = create_app([Translator.load(d) for d in model_dirs], settings)
    return TestClient(app, raise_server_exceptions=raise_errors)


@pytest.fixture
def client(model_dir: Path, reverse_model_dir: Path) -> Iterator[TestClient]:
    """A server with en-fa and fa-en, default settings, running its batchers."""
    with make_client([model_dir, reverse_model_dir]) as test_client:
        yield test_client
