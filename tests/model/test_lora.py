"""LoRA adapters: they start as the layer they wrap, only they train, and merged they compute
what the adapted model computes."""

from __future__ import annotations

import torch
from torch import nn

from seq2seq.model.lora import LoRALinear, add_lora, has_lora, merge_lora
from tests.model.helpers import random_tokens, tiny_decoder_only, tiny_model


def _random_adapters(model: nn.Module) -> None:
    """B starts at zero (no change): give every adapter a change to merge."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, LoRALinear):
                module.lora_b.normal_(0, 0.1)


def test_an_adapter_starts_as_the_layer_it_wraps() -> None:
    torch.manual_seed(0)
    linear = nn.Linear(16, 24)
    adapted = LoRALinear(linear, rank=4, alpha=8)
    x = torch.randn(3, 16)
    assert torch.equal(adapted(x), linear(x))
    assert [name for name, p in adapted.named_parameters() if p.requires_grad] == [
        "lora_a", "lora_b",
    ]  # fmt: skip
    assert set(adapted.state_dict()) == {"weight", "bias", "lora_a", "lora_b"}


def test_only_the_adapters_of_the_targets_train() -> None:
    torch.manual_seed(0)
    model = tiny_model()
    add_lora(model, rank=2, alpha=4, targets=["feed_forward"])
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    assert trainable and all(".ffn.w_" in name and ".lora_" in name for name in trainable)
    assert type(model.decoder.layers[0].self_attn.qkv_proj) is nn.Linear


def test_merged_and_unmerged_models_compute_the_same() -> None:
    torch.manual_seed(0)
    for model in (tiny_model(), tiny_decoder_only()):
        add_lora(model, rank=4, alpha=16, targets=["attention", "feed_forward"])
        _random_adapters(model)
        tokens = random_tokens(2, 7)
        with torch.no_grad():
            adapted = model(tokens) if model.cfg.decoder_only else model(tokens, tokens)
            merge_lora(model)
            merged = model(tokens) if model.cfg.decoder_only else model(tokens, tokens)
        assert not has_lora(model)
        assert all(".lora_" not in name for name in model.state_dict())
        torch.testing.assert_close(merged, adapted, atol=1e-5, rtol=1e-5)


def test_a_trained_adapter_changes_what_the_model_computes() -> None:
    torch.manual_seed(0)
    model = tiny_model()
    tokens = random_tokens(2, 5)
    with torch.no_grad():
        before = model(tokens, tokens)
    add_lora(model, rank=2, alpha=4, targets=["attention"])
    _random_adapters(model)
    with torch.no_grad():
        assert not torch.allclose(model(tokens, tokens), before)
