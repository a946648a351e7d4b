"""docs/cli.md, the reference of every command: rendered from the entry points' own argument
parsers (and, for the two Hydra applications, from the config tree), so that the page says what
the code does. ``make docs`` writes it; ``tests/cli/test_reference.py`` fails when it is stale.

The markdown is built from the parsers' actions (flags, metavar, choices, default, help), not
from ``format_help()``, so that it depends neither on the terminal's width nor on the wording of
a Python version's argparse.
"""

from __future__ import annotations

import argparse
import importlib
from importlib.resources import files
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from omegaconf import OmegaConf

if TYPE_CHECKING:
    from importlib.abc import Traversable

OUTPUT = Path("docs/cli.md")
# Every console script of pyproject.toml, in the order a newcomer meets them.
COMMANDS = {
    "seq2seq-prepare": "seq2seq.cli.prepare",
    "seq2seq-download": "seq2seq.cli.download",
    "seq2seq-train": "seq2seq.cli.train",
    "seq2seq-average": "seq2seq.cli.average",
    "seq2seq-shortlist": "seq2seq.cli.shortlist",
    "seq2seq-translate": "seq2seq.cli.translate",
    "seq2seq-eval": "seq2seq.cli.eval",
    "seq2seq-score": "seq2seq.cli.score",
    "seq2seq-sample": "seq2seq.cli.sample",
    "seq2seq-serve": "seq2seq.cli.serve",
    "seq2seq-export": "seq2seq.cli.export",
    "seq2seq-import": "seq2seq.cli.import_model",
}
HYDRA = {"seq2seq-prepare": "prepare.yaml", "seq2seq-train": "train.yaml"}
HEADER = """\
# Command-line reference

Every command's options, generated from the parsers by `make docs`
(`python -m seq2seq.cli.reference`); a test fails when this page is out of date. Each command
also prints its options with `--help`. How the commands fit together: [README.md](../README.md).
"""
HYDRA_USAGE = """\
A Hydra application: its arguments are overrides of the configuration tree `conf/` (shipped
as the package `seq2seq.conf`). `GROUP=OPTION` picks a file of a group (`model=transformer_base`),
`KEY=VALUE` sets a value (`trainer.max_steps=100`, `data.root=../shared/data/en-fa`),
`+KEY=VALUE` adds a key the tree lacks. `--cfg job` prints the composed configuration without
running anything; `--help` lists the groups and the configuration.
"""


def render() -> str:
    """The whole page: a header, then one section per command of ``COMMANDS``."""
    sections = [HEADER, _contents()]
    for command, module in COMMANDS.items():
        sections.append(_section(command, importlib.import_module(module)))
    return "\n".join(sections)


def _contents() -> str:
    """A link to each command's section."""
    return "".join(f"- [{name}](#{name})\n" for name in COMMANDS)


def _section(command: str, module: ModuleType) -> str:
    """A command's heading, what it does (its module's docstring), its usage and options."""
    usage, _, about = " ".join(module.__doc__.split("\n\n")[0].split()).partition(": ")
    if command in HYDRA:
        body = _hydra_body(command)
    else:
        parser = module.build_parser()
        usage, body = _synopsis(parser), _parser_body(parser)
    return f"## {command}\n\n{_sentence(about)}\n\n```\n{usage}\n```\n\n{body}"


def _sentence(text: str) -> str:
    """``text`` with a capital first letter and a full stop."""
    text = text.strip().rstrip(".")
    return text[:1].upper() + text[1:] + "."


def _synopsis(parser: argparse.ArgumentParser) -> str:
    """``prog``, its required options and its positional arguments, then ``[options]``."""
    words = [parser.prog]
    for action in parser._actions:
        if action.option_strings and action.required:
            words.append(f"{action.option_strings[0]} {_metavar(action)}")
    words.append("[options]")
    words += [_metavar(action) for action in parser._actions if not action.option_strings]
    return " ".join(words)


def _parser_body(parser: argparse.ArgumentParser) -> str:
    """A list per argument group (positionals, options, then the parser's own groups)."""
    blocks = []
    for group in parser._action_groups:
        actions = [action for action in group._group_actions if action.dest != "help"]
        if not actions:
            continue
        title = group.title if group not in (parser._positionals, parser._optionals) else None
        lines = [f"### {title[:1].upper()}{title[1:]}\n"] if title else []
        lines += [_item(action) for action in actions]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def _item(action: argparse.Action) -> str:
    """One argument as a list item: its flags and metavar, what it needs, its help."""
    flags = ", ".join(
        f"{flag} {_metavar(action)}" if action.nargs != 0 else flag
        for flag in action.option_strings
    ) or _metavar(action)
    notes = "; ".join(_notes(action))
    about = f": {_escape(action.help)}" if action.help else ""
    return f"- `{flags}`{f' ({notes})' if notes else ''}{about}"


def _metavar(action: argparse.Action) -> str:
    """What the argument's value is called: its metavar, its choices, or its name."""
    if action.metavar is not None:
        name = action.metavar
    elif action.choices is not None:
        name = "{" + ",".join(map(str, action.choices)) + "}"
    else:
        name = action.dest.upper() if action.option_strings else action.dest
    return f"{name} [{name} ...]" if action.nargs == "+" else name


def _notes(action: argparse.Action) -> list[str]:
    """Required, repeatable, and the default (for an argument that takes a value, unless its
    help gives it)."""
    notes = ["required"] if action.required and action.option_strings else []
    if isinstance(action, argparse._AppendAction):
        notes.append("repeatable")
    elif action.nargs != 0 and action.default is not None and "default" not in action.help:
        shown = '""' if action.default == "" else action.default
        notes.append(f"default: `{shown}`")
    return notes


def _escape(text: str) -> str:
    """Help text as markdown that shows it as written (``<TAB>`` is no HTML tag, ``A * B`` no
    emphasis)."""
    return text.replace("<", "&lt;").replace("*", "\\*")


def _hydra_body(command: str) -> str:
    """The overrides paragraph; for seq2seq-train also the groups, experiments and keys."""
    if command != "seq2seq-train":
        return (
            "It composes `train.yaml` and takes the same overrides as\n"
            "[seq2seq-train](#seq2seq-train), so that `experiment=NAME` prepares exactly the data\n"
            "that experiment trains on.\n"
        )
    conf = files("seq2seq.conf")
    text = conf.joinpath(HYDRA[command]).read_text(encoding="utf-8")
    return "\n".join([HYDRA_USAGE, _groups(conf, text), _experiments(conf), _own_keys(text)])


def _groups(conf: Traversable, text: str) -> str:
    """Each group of the defaults list with its options, the default in bold."""
    lines = ["### Config groups\n"]
    for entry in OmegaConf.create(text).defaults:
        if not isinstance(entry, str) and next(iter(entry)) not in ("hydra", "experiment"):
            group, chosen = next(iter(entry.items()))
            shown = [f"**{name}**" if name == chosen else name for name in _names(conf, group)]
            lines.append(f"- `{group}`: {', '.join(shown)}")
    return "\n".join(lines) + "\n"


def _names(conf: Traversable, group: str) -> list[str]:
    """The options of a config group: its YAML files' names, sorted."""
    paths = conf.joinpath(group).iterdir()
    return sorted(p.name.removesuffix(".yaml") for p in paths if p.name.endswith(".yaml"))


def _experiments(conf: Traversable) -> str:
    """Each ``experiment=NAME`` with the first sentence of its file's opening comment."""
    lines = ["### Experiments (`experiment=NAME`)\n"]
    for name in _names(conf, "experiment"):
        text = conf.joinpath("experiment", f"{name}.yaml").read_text(encoding="utf-8")
        lines.append(f"- `{name}`: {_escape(_first_sentence(text))}")
    return "\n".join(lines) + "\n"


def _first_sentence(text: str) -> str:
    """The first sentence of a config file's opening comment (after ``# @package``)."""
    words = []
    for line in text.splitlines():
        if not line.startswith("#") or line.startswith("#   "):
            break
        if not line.startswith("# @package"):
            words += line.removeprefix("#").split()
    comment = " ".join(words)
    end = comment.find(". ")
    return comment if end < 0 else comment[: end + 1]


def _own_keys(text: str) -> str:
    """The top-level keys of ``train.yaml`` beyond its defaults list, as they are written."""
    lines = text.splitlines()
    start = lines.index("defaults:") + 1
    while start < len(lines) and (lines[start].startswith((" ", "-")) or not lines[start]):
        start += 1
    own = "\n".join(lines[start:]).strip()
    return f"### Keys of train.yaml\n\n```yaml\n{own}\n```\n"


def main() -> None:
    """Write ``docs/cli.md`` (run from the repository root)."""
    OUTPUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
