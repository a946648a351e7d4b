"""Attention against PyTorch's reference implementation, both of our paths, and gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from seq2seq.model import CrossAttention, SelfAttention
from seq2seq.model.attention import attention_probabilities, causal_mask

D_MODEL, HEADS = 16, 4


def key_mask(lengths: list[int], length: int) -> torch.Tensor:
    """(batch, 1, 1, length) True at real positions."""
    return (torch.arange(length)[None, :] < torch.tensor(lengths)[:, None])[:, None, None, :]


def torch_mha(in_weight: torch.Tensor, in_bias: torch.Tensor, ours: nn.Module) -> nn.Module:
    """nn.MultiheadAttention holding our weights: in_proj is [W^Q; W^K; W^V] in both."""
    reference = nn.MultiheadAttention(D_MODEL, HEADS, batch_first=True).eval()
    with torch.no_grad():
        reference.in_proj_weight.copy_(in_weight)
        reference.in_proj_bias.copy_(in_bias)
        reference.out_proj.load_state_dict(ours.out_proj.state_dict())
    return reference


def test_self_attention_equals_torch_multihead_attention() -> None:
    ours = SelfAttention(D_MODEL, HEADS).eval()
    reference = torch_mha(ours.qkv_proj.weight, ours.qkv_proj.bias, ours)
    x = torch.randn(3, 7, D_MODEL)
    mask = key_mask([7, 4, 1], 7)
    out, kv, _ = ours(x, mask=mask)
    expected, _ = reference(x, x, x, key_padding_mask=~mask[:, 0, 0])
    assert_close(out, expected)
    assert kv.key.shape == (3, HEADS, 7, D_MODEL // HEADS)


def test_causal_self_attention_equals_torch_with_look_ahead_mask() -> None:
    ours = SelfAttention(D_MODEL, HEADS).eval()
    reference = torch_mha(ours.qkv_proj.weight, ours.qkv_proj.bias, ours)
    x = torch.randn(2, 6, D_MODEL)
    out, _, _ = ours(x, is_causal=True)
    expected, _ = reference(x, x, x, attn_mask=~causal_mask(6))
    assert_close(out, expected)


def test_cross_attention_equals_torch_multihead_attention() -> None:
    ours = CrossAttention(D_MODEL, HEADS).eval()
    weight = torch.cat([ours.q_proj.weight, ours.kv_proj.weight])
    bias = torch.cat([ours.q_proj.bias, ours.kv_proj.bias])
    reference = torch_mha(weight, bias, ours)
    x, memory = torch.randn(3, 5, D_MODEL), torch.randn(3, 8, D_MODEL)
    mask = key_mask([8, 2, 5], 8)
    out, _ = ours(x, ours.project_memory(memory), mask=mask)
    expected, _ = reference(x, memory, memory, key_padding_mask=~mask[:, 0, 0])
    assert_close(out, expected)


@pytest.mark.parametrize("is_causal", [False, True])
def test_explicit_path_equals_fused_path(is_causal: bool) -> None:
    attention = SelfAttention(D_MODEL, HEADS).eval()
    x = torch.randn(2, 6, D_MODEL)
    mask = key_mask([6, 6], 6) if is_causal else key_mask([6, 3], 6)
    fused, _, none = attention(x, mask=mask, is_causal=is_causal)
    explicit, _, probs = attention(x, mask=mask, is_causal=is_causal, need_weights=True)
    assert none is None
    assert probs.shape == (2, HEADS, 6, 6)
    assert_close(explicit, fused)


def test_probabilities_are_zero_where_masked_and_sum_to_one() -> None:
    query, key = torch.randn(2, HEADS, 5, 4), torch.randn(2, HEADS, 5, 4)
    probs = attention_probabilities(query, key, mask=key_mask([5, 3], 5), is_causal=True)
    assert_close(probs.sum(-1), torch.ones(2, HEADS, 5))
    assert (probs[:, :, ~causal_mask(5)] == 0).all()  # no position sees a later one
    assert (probs[1, :, :, 3:] == 0).all()  # nor padding


def test_scores_are_scaled_by_sqrt_d_k() -> None:
    query = torch.tensor([[[[1.0, 1.0, 1.0, 1.0]]]])
    key = torch.tensor([[[[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]]]])
    # scores 4 / sqrt(4) = 2 and 0, so the probabilities are softmax([2, 0]).
    expected = torch.tensor([2.0, 0.0]).softmax(-1)
    assert_close(attention_probabilities(query, key)[0, 0, 0], expected)


def test_gradcheck_self_attention_both_paths() -> None:
    attention = SelfAttention(8, 2).double().eval()
    x = torch.randn(2, 4, 8, dtype=torch.float64, requires_grad=True)
    mask = key_mask([4, 2], 4)
    for need_weights in (False, True):
        assert torch.autograd.gradcheck(
            lambda x, w=need_weights: attention(x, mask=mask, need_weights=w)[0], (x,)
        )
    assert torch.autograd.gradcheck(lambda x: attention(x, is_causal=True)[0], (x,))


def test_gradcheck_cross_attention() -> None:
    attention = CrossAttention(8, 2).double().eval()
    x = torch.randn(2, 3, 8, dtype=torch.float64, requires_grad=True)
    memory = torch.randn(2, 5, 8, dtype=torch.float64, requires_grad=True)
    mask = key_mask([5, 2], 5)
    assert torch.autograd.gradcheck(
        lambda x, m: attention(x, attention.project_memory(m), mask=mask)[0], (x, memory)
    )
