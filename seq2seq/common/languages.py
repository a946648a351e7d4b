"""Language names by code, as servers and packages show them."""

from __future__ import annotations

NAMES = {"en": "English", "fa": "Persian", "ar": "Arabic", "de": "German", "fr": "French"}


def language_name(code: str) -> str:
    """The English name of a language code we know; the code itself otherwise."""
    return NAMES.get(code, code)
