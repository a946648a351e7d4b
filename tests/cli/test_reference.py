"""docs/cli.md: rendered from the parsers, committed as rendered, one section per command."""

from __future__ import annotations

import re

from seq2seq.cli.reference import OUTPUT, render
from tests.helpers import REPO


def console_scripts() -> list[str]:
    """The names under ``[project.scripts]`` in pyproject.toml."""
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    section = re.search(r"^\[project\.scripts\]\n(.*?)(?=^\[|\Z)", text, flags=re.S | re.M)
    assert section, "pyproject.toml has no [project.scripts]"
    return re.findall(r"^([\w.-]+)\s*=", section.group(1), flags=re.M)


def test_the_committed_page_is_the_rendered_one() -> None:
    committed = (REPO / OUTPUT).read_text(encoding="utf-8")
    assert committed == render(), f"{OUTPUT} is out of date: run `make docs` and commit it"


def test_every_console_script_has_its_section() -> None:
    page = (REPO / OUTPUT).read_text(encoding="utf-8")
    scripts = console_scripts()
    assert "seq2seq-translate" in scripts
    missing = [name for name in scripts if f"\n## {name}\n" not in page]
    assert not missing, f"{OUTPUT} lacks {missing}: add them to seq2seq.cli.reference.COMMANDS"


def test_the_page_holds_options_config_groups_and_experiments() -> None:
    page = (REPO / OUTPUT).read_text(encoding="utf-8")
    for flag in ("--beam BEAM_SIZE", "--glossary TSV", "--api-keys FILE", "--quantization"):
        assert f"`{flag}" in page or f", {flag}" in page
    assert "- `model`: " in page and "**transformer_tiny**" in page  # train's config groups
    assert "- `demo`: The embedded demo" in page  # and its experiments
