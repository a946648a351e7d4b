"""Each layer of the package imports only from the layers below it (imports inside functions
included), so that the structure holds without anyone having to remember it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "seq2seq"

# Layer -> the layers it may import from (besides itself). Bottom to top: common; data and
# model; inference; evaluation and analysis (which use inference); training (which scores
# validation with evaluation's metrics); serve (the HTTP server); cli on top.
ALLOWED = {
    "common": set(),
    "data": {"common"},
    "model": {"common"},
    "inference": {"common", "data", "model"},
    "evaluation": {"common", "data", "model", "inference"},
    "analysis": {"common", "data", "model", "inference"},
    "training": {"common", "data", "model", "inference", "evaluation"},
    "serve": {"common", "data", "model", "inference", "analysis"},
    "cli": {"common", "data", "model", "inference", "evaluation", "analysis", "training", "serve"},
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
            if parts[0] == "seq2seq" and len(parts) > 1:
                found.add((parts[1], node.lineno))
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


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "late.py"
    module.write_text("def f():\n    from seq2seq.training import run\n", encoding="utf-8")
    assert imported_layers(module) == {("training", 2)}
