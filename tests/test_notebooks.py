"""The notebooks run headless from start to end, and are committed without outputs."""

from __future__ import annotations

from pathlib import Path

import jupytext
import pytest
from nbclient import NotebookClient

from tests.helpers import REPO

SCRIPTS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.py"))
# 02 trains the demo experiment in full (about 5 minutes on 2 cores, half of the whole suite),
# 03 reads the model that 02 trains, and 04 trains a language model for a minute: slow tests,
# which `make test` runs last.
SLOW = {"02_train_translate_evaluate", "03_cross_attention_alignments", "04_gpt_from_the_decoder"}
NOTEBOOKS = [
    pytest.param(p, id=p.stem, marks=[pytest.mark.slow] if p.stem in SLOW else []) for p in SCRIPTS
]


def test_every_script_has_its_notebook_in_sync_and_without_outputs() -> None:
    assert [p.stem for p in SCRIPTS] == sorted(p.stem for p in (REPO / "notebooks").glob("*.ipynb"))
    assert SLOW.issubset(p.stem for p in SCRIPTS)
    for script in SCRIPTS:
        notebook = jupytext.read(script.with_suffix(".ipynb"))
        paired = jupytext.read(script)
        assert [c.source for c in notebook.cells] == [c.source for c in paired.cells], script.name
        code = [c for c in notebook.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), script.name


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One outputs folder for all notebooks: 03 reads the model that 02 trains."""
    return tmp_path_factory.mktemp("notebook-runs")


@pytest.mark.parametrize("script", NOTEBOOKS)
def test_notebook_runs_without_error(script: Path, runs: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SEQ2SEQ_NOTEBOOK_RUNS", str(runs))
    notebook = jupytext.read(script)
    client = NotebookClient(
        notebook, timeout=1200, kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )  # fmt: skip
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
