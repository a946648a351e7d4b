"""Parts of a model that fine-tuning leaves as they are (``module.freeze``)."""

from __future__ import annotations

from torch import nn

from seq2seq.common.errors import ConfigError
from seq2seq.model import Model, Transformer
from seq2seq.model.embedding import InputEmbedding

FREEZABLE = ("embeddings", "encoder")


def freeze(net: Model, parts: list[str]) -> None:
    """Stop, in place, the gradients of ``parts`` of ``net``: "embeddings" (every token
    embedding, with the output projection where it is tied to them, and learned positions),
    "encoder" (its embedding, layers and final norm). The optimizer skips what has no
    gradient, so a frozen weight is saved as it was loaded.

    Raises:
        ConfigError: "encoder" for a decoder-only model.
    """
    for part in parts:
        for parameter in _parameters(net, part):
            parameter.requires_grad_(False)


def _parameters(net: Model, part: str) -> list[nn.Parameter]:
    if part == "encoder":
        if not isinstance(net, Transformer):
            raise ConfigError("module.freeze: a decoder-only model has no encoder")
        return list(net.encoder.parameters())
    inputs = [module for module in net.modules() if isinstance(module, InputEmbedding)]
    return [parameter for module in inputs for parameter in module.parameters()]
