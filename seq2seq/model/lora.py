"""Low-rank adapters (LoRA, Hu et al. 2021) on a model's linear layers, and their merging."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seq2seq.model.replace import replace_children

# The linear layers of each kind of sub-layer, by their attribute names.
LORA_TARGETS = {
    "attention": ("qkv_proj", "q_proj", "kv_proj", "out_proj"),
    "feed_forward": ("w_1", "w_2"),
}


class LoRALinear(nn.Module):
    """y = x W^T + b + (alpha / r) (x A^T) B^T: a linear layer (W, b; frozen) and a low-rank
    update B A that trains. B starts at zero, so the layer starts as the one it wraps.

    The state dict keeps the wrapped layer's names (``weight``, ``bias``) beside ``lora_a``
    (rank, in_features) and ``lora_b`` (out_features, rank).
    """

    def __init__(self, linear: nn.Linear, *, rank: int, alpha: float) -> None:
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.weight, self.bias = linear.weight, linear.bias
        for parameter in (self.weight, self.bias):
            if parameter is not None:
                parameter.requires_grad_(False)
        self.lora_a = nn.Parameter(linear.weight.new_empty(rank, self.in_features))
        self.lora_b = nn.Parameter(linear.weight.new_zeros(self.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))  # nn.Linear's (and peft's) init
        self.scale = alpha / rank

    def forward(self, x: Tensor) -> Tensor:
        """(..., in_features) -> (..., out_features)."""
        update = F.linear(F.linear(x, self.lora_a), self.lora_b)
        # in place: the frozen product's backward needs only W, not its output
        return F.linear(x, self.weight, self.bias).add_(update, alpha=self.scale)

    def merged(self) -> nn.Linear:
        """A plain linear layer computing the same: W + (alpha / r) B A."""
        linear = nn.Linear(
            self.in_features, self.out_features, bias=self.bias is not None, device="meta"
        )
        with torch.no_grad():
            weight = self.weight + self.scale * (self.lora_b @ self.lora_a)
        linear.weight = nn.Parameter(weight)
        if self.bias is not None:
            linear.bias = nn.Parameter(self.bias.detach().clone())
        return linear


def add_lora(module: nn.Module, *, rank: int, alpha: float, targets: list[str]) -> None:
    """Freeze every parameter of ``module`` and wrap, in place, the linear layers of
    ``targets`` (keys of ``LORA_TARGETS``) in ``LoRALinear``: only the adapters train."""
    names = {name for target in targets for name in LORA_TARGETS[target]}
    for parameter in module.parameters():
        parameter.requires_grad_(False)

    def adapted(name: str, child: nn.Module) -> LoRALinear | None:
        if name in names and type(child) is nn.Linear:
            return LoRALinear(child, rank=rank, alpha=alpha)
        return None

    replace_children(module, adapted)


def merge_lora(module: nn.Module) -> nn.Module:
    """Replace, in place, every ``LoRALinear`` of ``module`` by its merged linear layer;
    returns ``module``."""
    return replace_children(
        module, lambda _, child: child.merged() if isinstance(child, LoRALinear) else None
    )


def has_lora(module: nn.Module) -> bool:
    """Whether ``module`` holds adapters."""
    return any(isinstance(child, LoRALinear) for child in module.modules())
