"""The package as a user meets it: importable after install, layers kept apart."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import seq2seq
from tests.helpers import REPO

DOCS = sorted((REPO / "docs").glob("*.md"))
PAGES = [REPO / "README.md", *DOCS, *sorted((REPO / "recipes").glob("*/README.md"))]


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


def python_examples(page: Path) -> list[str]:
    """The code of each ```python block of a markdown page."""
    text = page.read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.S | re.M)


def test_python_examples_of_the_readme_run_as_written() -> None:
    """A newcomer copies them: they must run against the code as it is."""
    examples = python_examples(REPO / "README.md")
    assert examples
    for code in examples:
        run_python(code)


@pytest.mark.parametrize("page", DOCS, ids=lambda page: page.name)
def test_python_examples_of_the_docs_run_as_written(page: Path) -> None:
    for code in python_examples(page):
        run_python(code)


def test_readme_is_short_and_links_every_page_of_the_docs() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150, "the reference belongs in docs/"
    unlinked = [page.name for page in DOCS if f"](docs/{page.name}" not in readme]
    assert not unlinked, f"README.md links no {unlinked}"


def anchors(page: Path) -> set[str]:
    """The anchors of a markdown page's headings, as GitHub makes them."""
    headings = re.findall(r"^#+ (.*)$", page.read_text(encoding="utf-8"), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO)))
def test_links_between_pages_lead_somewhere(page: Path) -> None:
    """Every relative link names a file that exists, and a heading of it where it names one."""
    text = re.sub(r"^```.*?^```$", "", page.read_text(encoding="utf-8"), flags=re.S | re.M)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists() or (anchor and anchor not in anchors(linked)):
            broken.append(target)
    assert not broken, f"{page.relative_to(REPO)}: broken links {broken}"
