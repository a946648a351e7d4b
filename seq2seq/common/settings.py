"""What a configuration setting may hold, checked with one line that names it, the value and
what is allowed: ``trainer.max_steps (-5) must be -1 (no limit) or a whole number >= 1``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from seq2seq.common.errors import ConfigError


@dataclass(frozen=True)
class Allowed:
    """The values a setting may hold: ``text`` for the message, ``test`` to check one."""

    text: str
    test: Callable[[Any], bool]


def require(setting: str, value: Any, allowed: Allowed) -> None:
    """Check one setting's value.

    Raises:
        ConfigError: ``value`` is not ``allowed`` for ``setting``.
    """
    if not allowed.test(value):
        raise ConfigError(f"{setting} ({value}) must be {allowed.text}")


def is_whole(value: Any) -> bool:
    """An int, not a bool (which Python counts as one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """An int or a float, not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def whole(low: int) -> Allowed:
    """A whole number of at least ``low``."""
    return Allowed(f"a whole number >= {low}", lambda value: is_whole(value) and value >= low)


def number(text: str, test: Callable[[float], bool]) -> Allowed:
    """A number for which ``test`` holds, described as "a number ``text``"."""
    return Allowed(f"a number {text}", lambda value: is_number(value) and test(value))


def one_of(*choices: str) -> Allowed:
    """One of the strings ``choices``."""
    return Allowed(" or ".join(choices), lambda value: value in choices)


def list_of(*choices: str) -> Allowed:
    """A list of some of the strings ``choices``."""
    return Allowed(
        f"a list of {', '.join(choices)}",
        lambda value: isinstance(value, list) and set(value) <= set(choices),
    )
