"""Each layer of the package imports only from the layers below it (imports inside functions
included), so that the structure holds without anyone having to remember it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "seq2seq"

# Layer -> the layers it may import from (besides itself). Bottom to top: common; data and
# model; modeldir (the model directory, which training writes and inference reads);
# inference; evaluation and analysis (which use inference); export (which checks an export
# against our decoding with evaluation's metrics); training (which scores validation with
# evaluation's metrics); serve (the HTTP server); cli on top.
BELOW_INFERENCE = {"common", "data", "model", "modeldir"}
ALLOWED = {
    "common": set(),
    "data": {"common"},
    "model": {"common"},
    "modeldir": {"common", "data", "model"},
    "inference": BELOW_INFERENCE,
    "evaluation": BELOW_INFERENCE | {"inference"},
    "analysis": BELOW_INFERENCE | {"inference"},
    "export": BELOW_INFERENCE | {"inference", "evaluation"},
    "training": BELOW_INFERENCE | {"inference", "evaluation"},
    "serve": BELOW_INFERENCE | {"inference", "analysis"},
    "cli": BELOW_INFERENCE | {"inference", "evaluation", "analysis", "export", "training", "serve"},
    "__init__": {"common", "inference"},
}


def layer_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else path.stem


def imported_layers(path: Path) -> set[tuple[str, int]]:
    """(layer, line) of every import of a seq2seq module in ``path``, at any depth."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "seq2seq":
                names = [f"seq2seq.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            raise AssertionError(f"{path}:{node.lineno}: relative import; write it absolute")
        for name in names:
            parts = name.split(".")
            if parts[0] == "seq2seq":  # a bare "import seq2seq" runs the package's __init__
                found.add((parts[1] if len(parts) > 1 else "__init__", node.lineno))
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_belongs_to_a_known_layer() -> None:
    assert {layer_of(path) for path in MODULES} <= set(ALLOWED)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_imports_only_from_the_layers_below_it(path: Path) -> None:
    layer = layer_of(path)
    wrong = sorted(
        f"line {line}: seq2seq.{target}"
        for target, line in imported_layers(path)
        if target != layer and target not in ALLOWED[layer]
    )
    assert not wrong, f"{layer} may import {sorted(ALLOWED[layer])}, not: {wrong}"


def test_the_check_sees_a_bare_import_of_the_package(tmp_path: Path) -> None:
    module = tmp_path / "bare.py"
    module.write_text("import seq2seq\n", encoding="utf-8")
    assert imported_layers(module) == {("__init__", 1)}


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "late.py"
    module.write_text("def f():\n    from seq2seq.training import run\n", encoding="utf-8")
    assert imported_layers(module) == {("training", 2)}
