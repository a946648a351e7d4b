"""The package as a user meets it: importable after install, layers kept apart."""

from __future__ import annotations

import re
import subprocess
import sys

import seq2seq
from tests.helpers import REPO


def run_python(code: str) -> str:
    """Run ``code`` in a fresh interpreter; its stdout. Fails the test, with the child's
    traceback, when the code raises."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_public_model_api_imports_in_a_fresh_interpreter() -> None:
    out = run_python(
        "from seq2seq.model import Transformer, TransformerConfig; print(Transformer.__name__)"
    )
    assert out.strip() == "Transformer"


def test_translator_is_importable_from_the_package_root() -> None:
    out = run_python("from seq2seq import Translator; print(Translator.__module__)")
    assert out.strip() == "seq2seq.inference.translator"


def test_model_package_loads_only_the_bottom_layer_and_no_lightning_or_hydra() -> None:
    out = run_python("import sys, seq2seq.model; print(' '.join(sorted(sys.modules)))")
    loaded = out.split()
    ours = {name.split(".")[1] for name in loaded if name.startswith("seq2seq.")}
    assert ours == {"model", "common"}
    assert not [
        name
        for name in loaded
        if name.split(".")[0] in ("hydra", "lightning", "pytorch_lightning", "omegaconf")
    ]


def test_version_is_exposed() -> None:
    assert seq2seq.__version__.count(".") == 2


def test_python_examples_of_the_readme_run_as_written() -> None:
    """A newcomer copies them: they must run against the code as it is."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    examples = re.findall(r"^```python\n(.*?)^```$", readme, flags=re.S | re.M)
    assert examples
    for code in examples:
        run_python(code)
