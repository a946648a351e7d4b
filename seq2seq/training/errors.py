"""Why training stopped, when it is nobody's bug: one line for the user, no traceback."""

from __future__ import annotations


class NonFiniteLossError(RuntimeError):
    """The loss stayed inf or NaN for too many updates in a row."""
