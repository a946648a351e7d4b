"""Encoder and decoder layers against PyTorch's reference layers, and their gradients."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from seq2seq.model import DecoderLayer, EncoderLayer, PositionwiseFeedForward
from seq2seq.model.attention import causal_mask
from tests.model.helpers import TINY


def load_shared_parts(reference: nn.Module, ours: nn.Module) -> None:
    """Copy what torch's encoder and decoder layers share: self-attention, FFN, first norms."""
    with torch.no_grad():
        reference.self_attn.in_proj_weight.copy_(ours.self_attn.qkv_proj.weight)
        reference.self_attn.in_proj_bias.copy_(ours.self_attn.qkv_proj.bias)
    reference.self_attn.out_proj.load_state_dict(ours.self_attn.out_proj.state_dict())
    reference.linear1.load_state_dict(ours.ffn.w_1.state_dict())
    reference.linear2.load_state_dict(ours.ffn.w_2.state_dict())
    reference.norm1.load_state_dict(ours.self_attn_residual.norm.state_dict())


@pytest.mark.parametrize("pre_norm", [False, True])
def test_encoder_layer_equals_torch_encoder_layer(pre_norm: bool) -> None:
    cfg = replace(TINY, pre_norm=pre_norm)
    ours = EncoderLayer(cfg).eval()
    reference = nn.TransformerEncoderLayer(
        cfg.d_model, cfg.n_heads, cfg.ffn_dim, dropout=0.0, batch_first=True, norm_first=pre_norm
    ).eval()
    load_shared_parts(reference, ours)
    reference.norm2.load_state_dict(ours.ffn_residual.norm.state_dict())
    x = torch.randn(2, 5, cfg.d_model)
    real = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    out = ours(x, mask=real[:, None, None, :])
    expected = reference(x, src_key_padding_mask=~real)
    assert_close(out[real], expected[real])


@pytest.mark.parametrize("pre_norm", [False, True])
def test_decoder_layer_equals_torch_decoder_layer(pre_norm: bool) -> None:
    cfg = replace(TINY, pre_norm=pre_norm)
    ours = DecoderLayer(cfg).eval()
    reference = nn.TransformerDecoderLayer(
        cfg.d_model, cfg.n_heads, cfg.ffn_dim, dropout=0.0, batch_first=True, norm_first=pre_norm
    ).eval()
    load_shared_parts(reference, ours)
    cross = ours.cross_attn
    with torch.no_grad():
        reference.multihead_attn.in_proj_weight.copy_(
            torch.cat([cross.q_proj.weight, cross.kv_proj.weight])
        )
        reference.multihead_attn.in_proj_bias.copy_(
            torch.cat([cross.q_proj.bias, cross.kv_proj.bias])
        )
    reference.multihead_attn.out_proj.load_state_dict(cross.out_proj.state_dict())
    reference.norm2.load_state_dict(ours.cross_attn_residual.norm.state_dict())
    reference.norm3.load_state_dict(ours.ffn_residual.norm.state_dict())
    x, memory = torch.randn(2, 4, cfg.d_model), torch.randn(2, 6, cfg.d_model)
    real_source = torch.tensor([[True] * 6, [True] * 2 + [False] * 4])
    out, _ = ours(x, cross.project_memory(memory), memory_mask=real_source[:, None, None, :])
    expected = reference(x, memory, tgt_mask=~causal_mask(4), memory_key_padding_mask=~real_source)
    assert_close(out, expected)


def gradcheck_config():
    return replace(TINY, d_model=8, n_heads=2, ffn_dim=12)


def test_gradcheck_feed_forward() -> None:
    ffn = PositionwiseFeedForward(8, 12).double()
    x = torch.randn(2, 3, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(ffn, (x,))


@pytest.mark.parametrize("pre_norm", [False, True])
def test_gradcheck_encoder_layer(pre_norm: bool) -> None:
    layer = EncoderLayer(replace(gradcheck_config(), pre_norm=pre_norm)).double().eval()
    x = torch.randn(2, 4, 8, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[True] * 4, [True, True, False, False]])[:, None, None, :]
    assert torch.autograd.gradcheck(lambda x: layer(x, mask=mask), (x,))


@pytest.mark.parametrize("pre_norm", [False, True])
def test_gradcheck_decoder_layer(pre_norm: bool) -> None:
    layer = DecoderLayer(replace(gradcheck_config(), pre_norm=pre_norm)).double().eval()
    x = torch.randn(2, 3, 8, dtype=torch.float64, requires_grad=True)
    memory = torch.randn(2, 4, 8, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[True] * 4, [True, False, False, False]])[:, None, None, :]

    def run(x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        return layer(x, layer.cross_attn.project_memory(memory), memory_mask=mask)[0]

    assert torch.autograd.gradcheck(run, (x, memory))
