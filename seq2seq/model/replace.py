"""Replacing a model's sub-modules in place (packed, quantized or adapted layers)."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn


def replace_children(
    module: nn.Module, replacement: Callable[[str, nn.Module], nn.Module | None]
) -> nn.Module:
    """Put ``replacement(name, child)`` in place of every sub-module of ``module`` (at any
    depth) for which it is not None; returns ``module``. Shared modules (tied layers) are
    replaced wherever they are held, each holder its own replacement."""
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            new = replacement(name, child)
            if new is not None:
                setattr(parent, name, new)
    return module


def adopt_parts(new: nn.Module, old: nn.Module) -> None:
    """Initialize ``new`` (a subclass of ``old``'s class, its ``__init__`` not run) with
    ``old``'s sub-modules and training mode instead of parts of its own: the same parameters
    and state dict, run by the subclass's code."""
    nn.Module.__init__(new)
    for name, child in old.named_children():
        setattr(new, name, child)
    new.train(old.training)
