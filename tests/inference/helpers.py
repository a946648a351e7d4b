"""What the native kernels' tests share."""

from __future__ import annotations

import torch
from torch.testing import assert_close

from seq2seq.inference.runtime.cache import KeyValueBuffer
from seq2seq.inference.search.hypothesis import Hypothesis
from seq2seq.model import DecoderLayer, KeyValue


def step_inputs(layer: DecoderLayer, *, groups: int, width: int, stored: int, padded: bool):
    """A decoding step's arguments: new rows, cross-attention keys/values, a cache of
    ``stored`` entries per group, each row's path (a random subset ending in its own entry),
    and a memory mask that hides the last source tokens of the first group when ``padded``."""
    heads, head_dim = layer.self_attn.n_heads, layer.self_attn.head_dim
    d_model, src_len = heads * head_dim, 7
    x = torch.randn(groups, width, d_model)
    cross = KeyValue(*torch.randn(2, groups, heads, src_len, head_dim).unbind(0))
    past = KeyValueBuffer(reserve=stored + width).append(
        KeyValue(*torch.randn(2, groups, heads, stored, head_dim).unbind(0))
    )
    self_mask = torch.rand(groups, 1, width, stored + width) < 0.6
    self_mask[..., stored:] = torch.eye(width, dtype=torch.bool)
    memory_mask = None
    if padded:
        memory_mask = torch.ones(groups, 1, 1, src_len, dtype=torch.bool)
        memory_mask[0, ..., -3:] = False
    return x, cross, past, (self_mask if width > 1 else None), memory_mask


def assert_same_nbest(
    found: list[list[Hypothesis]], expected: list[list[Hypothesis]], *, atol: float
) -> None:
    """The same hypotheses for every sentence, in the same order, with scores within atol."""
    assert [[h.tokens for h in n] for n in found] == [[h.tokens for h in n] for n in expected]
    scores = [[[h.score for h in n] for n in hypotheses] for hypotheses in (found, expected)]
    assert_close(torch.tensor(scores[0]), torch.tensor(scores[1]), rtol=0, atol=atol)
