"""The package as a user meets it: importable after install, layers kept apart."""

from __future__ import annotations

import subprocess
import sys

import seq2seq


def run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return result.stdout


def test_public_model_api_imports_in_a_fresh_interpreter() -> None:
    out = run_python(
        "from seq2seq.model import Transformer, TransformerConfig; print(Transformer.__name__)"
    )
    assert out.strip() == "Transformer"


def test_translator_is_importable_from_the_package_root() -> None:
    out = run_python("from seq2seq import Translator; print(Translator.__module__)")
    assert out.strip() == "seq2seq.inference.translator"


def test_model_package_imports_nothing_else_of_the_project_nor_lightning_or_hydra() -> None:
    out = run_python("import sys, seq2seq.model; print(' '.join(sorted(sys.modules)))")
    loaded = out.split()
    ours = [name for name in loaded if name.startswith("seq2seq")]
    assert all(
        name in ("seq2seq", "seq2seq.model") or name.startswith("seq2seq.model.") for name in ours
    )
    assert not [
        name
        for name in loaded
        if name.split(".")[0] in ("hydra", "lightning", "pytorch_lightning", "omegaconf")
    ]


def test_version_is_exposed() -> None:
    assert seq2seq.__version__.count(".") == 2
