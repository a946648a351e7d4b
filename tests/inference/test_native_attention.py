"""Native attention: one call over every sentence, head and query of a decoding step equals
the explicit softmax(Q K^T / sqrt(d_k)) V, decoding with it in batches finds the same
translations, and calls the kernel does not take run the module's own code."""

from __future__ import annotations

import copy
import os
import shutil

import pytest
import torch
from torch.testing import assert_close

from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.runtime.native import attention
from seq2seq.inference.runtime.native.attention import (
    NATIVE_MAX_QUERIES,
    NativeCrossAttention,
    NativeSelfAttention,
    native_attention,
)
from seq2seq.inference.runtime.native.layer import NativeDecoderLayer
from seq2seq.inference.runtime.precision import prepare_for_decoding
from seq2seq.inference.search.beam import beam_search
from seq2seq.inference.search.scorers import ModelScorer
from seq2seq.model.attention import CrossAttention, SelfAttention, attention_probabilities
from tests.inference.helpers import assert_same_nbest
from tests.model.helpers import pad_to, random_tokens, tiny_model

pytestmark = pytest.mark.skipif(
    shutil.which(os.environ.get("CC", "cc")) is None, reason="no C compiler to build the kernel"
)


def explicit(query, key, value, mask):
    """The module's explicit attention, heads merged: (batch, tgt_len, heads * d_k)."""
    batch, _, queries, _ = query.shape
    context = attention_probabilities(query, key, mask=mask) @ value
    return context.transpose(1, 2).reshape(batch, queries, -1)


def step_like(batch, heads, queries, keys, head_dim, *, mask_kind):
    """Queries cut from a fused projection and keys/values from a reserved buffer (the cache's
    strides), with a mask of one row per sentence and query, one per sentence, or none."""
    projected = torch.randn(batch, queries, 3, heads, head_dim)
    query = projected.permute(2, 0, 3, 1, 4)[0]
    buffer = torch.randn(2, batch, heads, keys + 5, head_dim)
    key, value = buffer[0, :, :, :keys], buffer[1, :, :, :keys]
    mask = None
    if mask_kind == "paths":
        mask = torch.rand(batch, 1, queries, keys) < 0.3
        mask[..., 0] = True
    elif mask_kind == "padding":
        mask = torch.ones(batch, 1, 1, keys, dtype=torch.bool)
        mask[0, ..., 1:][..., -2:] = False  # the first key stays: a query attends somewhere
    return query, key, value, mask


@pytest.mark.parametrize(
    ("batch", "heads", "queries", "keys", "head_dim"),
    [
        (1, 4, 1, 1, 4),
        (3, 4, 4, 40, 32),
        (2, 2, 5, 17, 20),
        (5, 3, 2, 70, 7),
        (2, 8, 3, 9, 64),
        (2, 2, 3, 12, 100),  # columns by 64, then by 32, then one by one
    ],
)
@pytest.mark.parametrize("mask_kind", ["paths", "padding", None])
@pytest.mark.parametrize("threads", [1, 2])
def test_native_attention_equals_the_explicit_one(
    batch, heads, queries, keys, head_dim, mask_kind, threads
) -> None:
    torch.manual_seed(keys)
    query, key, value, mask = step_like(batch, heads, queries, keys, head_dim, mask_kind=mask_kind)
    used = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        found = native_attention(query, key, value, mask=mask)
    finally:
        torch.set_num_threads(used)
    assert_close(found, explicit(query, key, value, mask), rtol=0, atol=2e-6)


def test_native_attention_splits_many_sentences_among_threads() -> None:
    torch.manual_seed(0)
    query, key, value, mask = step_like(100, 4, 4, 60, 32, mask_kind="paths")
    assert 100 * 4 * 4 * 60 * 32 >= 2**16  # attention.c's PARALLEL_MIN: threads share it
    assert_close(native_attention(query, key, value, mask=mask),
                 explicit(query, key, value, mask), rtol=0, atol=2e-6)  # fmt: skip


def test_what_native_attention_does_not_take_is_left_to_the_module() -> None:
    query, key, value, mask = step_like(2, 4, 3, 10, 8, mask_kind="paths")
    assert native_attention(query.double(), key.double(), value.double(), mask=mask) is None
    assert native_attention(query, key, value.contiguous(), mask=mask) is None  # strides differ
    assert native_attention(query, key, value, mask=mask.expand(-1, 4, -1, -1)) is None
    assert native_attention(query, key, value, mask=mask.float()) is None
    assert native_attention(query.requires_grad_(), key, value, mask=mask) is None
    many, key, value, _ = step_like(1, 4, NATIVE_MAX_QUERIES + 1, 30, 8, mask_kind=None)
    assert native_attention(many, key, value, mask=None) is None


def native_and_own(precision: str):
    """A prepared model (its attention modules native) and the same weights unprepared."""
    torch.manual_seed(0)
    own = tiny_model()
    return prepare_for_decoding(copy.deepcopy(own), precision=precision), own


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_decoding_prepares_native_attention_with_the_same_parameters(precision) -> None:
    model, own = native_and_own(precision)
    for layer in model.decoder.layers:
        assert type(layer.self_attn) is NativeSelfAttention
        assert type(layer.cross_attn) is NativeCrossAttention
    assert type(model.encoder.layers[0].self_attn) is NativeSelfAttention
    if precision == "fp32":
        assert model.state_dict().keys() == own.state_dict().keys()
        for name, value in own.state_dict().items():
            assert_close(model.state_dict()[name], value)


def test_a_native_module_adopts_the_modules_own_parts() -> None:
    plain = CrossAttention(16, 4, dropout=0.1)
    native = NativeCrossAttention(plain)
    assert native.q_proj is plain.q_proj and native.kv_proj is plain.kv_proj
    assert native.out_proj is plain.out_proj
    assert (native.n_heads, native.head_dim, native.dropout) == (4, 4, 0.1)


def test_decoding_in_batches_finds_the_same_translations(monkeypatch) -> None:
    """Rows beyond what a native layer takes run the layers' own code, whose attention is
    then native."""
    model, own = native_and_own("fp32")
    assert all(type(layer) is NativeDecoderLayer for layer in model.decoder.layers)
    monkeypatch.setattr(NativeDecoderLayer, "runs_natively", lambda *_: False)
    calls = []
    monkeypatch.setattr(
        attention, "native_attention",
        lambda *args, **kwargs: calls.append(1) or native_attention(*args, **kwargs),
    )  # fmt: skip
    src = pad_to([random_tokens(1, n)[0] for n in (6, 3, 8, 5)], 8)
    beam = DecodingOptions(beam_size=4, nbest=4, max_len_b=12)
    found = beam_search(ModelScorer(model), src, options=beam)
    expected = beam_search(ModelScorer(own), src, options=beam)
    assert calls  # attention went native
    assert_same_nbest(found, expected, atol=1e-5)


@torch.inference_mode()
def test_maps_training_and_the_look_ahead_mask_run_the_modules_own_code(monkeypatch) -> None:
    torch.manual_seed(0)
    plain = SelfAttention(16, 4)
    native = NativeSelfAttention(copy.deepcopy(plain))
    monkeypatch.setattr(attention, "native_attention", lambda *args, **kwargs: 1 / 0)
    x = torch.randn(2, 5, 16)  # each call below would raise, were it native
    assert_close(native(x, is_causal=True)[0], plain(x, is_causal=True)[0])
    assert native(x, need_weights=True)[2] is not None
    native.train()
    plain.train()
    torch.manual_seed(1)
    trained = native(x)[0]
    torch.manual_seed(1)
    assert_close(trained, plain(x)[0])
