"""Native layers: an encoder layer, or a decoder layer's step, in one C call equals the layer's
own, decoding finds the same translations, and every call the kernel cannot take runs the
layer's PyTorch code."""

from __future__ import annotations

import copy
import math
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from torch.testing import assert_close

from seq2seq.common.special import EOS_ID
from seq2seq.inference.options import DecodingOptions, Sampling
from seq2seq.inference.runtime.native import attention, build
from seq2seq.inference.runtime.native import layer as layer_module
from seq2seq.inference.runtime.native.layer import NativeDecoderLayer, NativeEncoderLayer
from seq2seq.inference.runtime.native.normalize import native_log_softmax_
from seq2seq.inference.runtime.native.selection import native_select_top
from seq2seq.inference.runtime.precision import prepare_for_decoding
from seq2seq.inference.search import scorers, selectors
from seq2seq.inference.search.beam import beam_search
from seq2seq.inference.search.scorers import ModelScorer
from seq2seq.inference.search.stepwise import greedy_search, sample
from seq2seq.model import AttentionMaps, DecoderLayer, EncoderLayer, Transformer
from tests.inference.helpers import assert_same_nbest, step_inputs
from tests.model.helpers import pad_to, random_tokens, tiny_model

pytestmark = pytest.mark.skipif(
    shutil.which(os.environ.get("CC", "cc")) is None, reason="no C compiler to build the kernel"
)

# The kernel's paths: 16-column blocks and one head_dim of 4 (the test model); 64-column
# blocks, heads of 32 and pre-LN with swish; single columns and heads of 12.
SHAPES = {
    "tiny": {},
    "wide": {"d_model": 128, "ffn_dim": 256, "pre_norm": True, "activation": "swish"},
    "odd": {"d_model": 24, "n_heads": 2, "ffn_dim": 40},
}


def native_model(**changes: object) -> Transformer:
    torch.manual_seed(0)
    model = prepare_for_decoding(tiny_model(**changes), precision="fp32")
    assert all(type(layer) is NativeEncoderLayer for layer in model.encoder.layers)
    assert all(type(layer) is NativeDecoderLayer for layer in model.decoder.layers)
    return model


@pytest.fixture
def own_attention(monkeypatch) -> None:
    """The layers' own attention code, not the native one (``native.attention``) that
    ``prepare_for_decoding`` also puts in: what the native layers are compared with."""
    monkeypatch.setattr(attention, "native_attention", lambda *args, **kwargs: None)


@pytest.fixture
def native_calls(monkeypatch) -> Iterator[list[int]]:
    """The rows of every native step taken while the test runs."""
    calls: list[int] = []
    step = NativeDecoderLayer.native_step

    def counted(self, x, *args, **kwargs):
        calls.append(x.size(0) * x.size(1))
        return step(self, x, *args, **kwargs)

    monkeypatch.setattr(NativeDecoderLayer, "native_step", counted)
    yield calls


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("groups", "width", "stored", "padded"),
    [(1, 1, 0, False), (1, 4, 9, False), (3, 5, 6, True), (2, 1, 5, True)],
)
@torch.inference_mode()
def test_a_native_step_equals_the_layers_own(
    shape, groups, width, stored, padded, own_attention
) -> None:
    layer = native_model(**SHAPES[shape]).decoder.layers[1]
    x, cross, past, self_mask, memory_mask = step_inputs(
        layer, groups=groups, width=width, stored=stored, padded=padded
    )
    own, own_past = DecoderLayer.forward(
        layer, x, cross, memory_mask=memory_mask, past=past, self_mask=self_mask
    )
    native, native_past = layer.native_step(
        x, cross, memory_mask=memory_mask, past=past, self_mask=self_mask
    )
    assert_close(native, own, rtol=0, atol=1e-5)
    assert native_past.length == own_past.length == stored + width
    assert_close(native_past.key, own_past.key, rtol=0, atol=1e-5)
    assert_close(native_past.value, own_past.value, rtol=0, atol=1e-5)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("batch", "length", "padded"), [(1, 1, False), (1, 9, False), (3, 5, True)]
)
@torch.inference_mode()
def test_a_native_encoder_layer_equals_the_layers_own(
    shape, batch, length, padded, own_attention
) -> None:
    layer = native_model(**SHAPES[shape]).encoder.layers[1]
    x = torch.randn(batch, length, layer.self_attn.n_heads * layer.self_attn.head_dim)
    mask = None
    if padded:
        mask = torch.ones(batch, 1, 1, length, dtype=torch.bool)
        mask[0, ..., -2:] = False
    assert_close(layer(x, mask=mask), EncoderLayer.forward(layer, x, mask=mask), rtol=0, atol=1e-5)


@pytest.fixture
def threads() -> Iterator[None]:
    """torch's thread count as the test sets it, restored afterwards."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@torch.inference_mode()
def test_a_call_shared_among_threads_equals_one_threads(threads, own_attention) -> None:
    """Enough rows (``layers.c``'s PARALLEL_MIN) split a step's groups, and an encoder call's
    sentences, among the threads: each row's arithmetic stays what it was, bit for bit."""
    model = native_model(**SHAPES["wide"])
    layer, encoder = model.decoder.layers[1], model.encoder.layers[1]
    x, cross, past, self_mask, memory_mask = step_inputs(
        layer, groups=7, width=5, stored=6, padded=True
    )
    step = {"memory_mask": memory_mask, "past": past, "self_mask": self_mask}
    source = torch.randn(7, 9, 128)
    source_mask = torch.ones(7, 1, 1, 9, dtype=torch.bool)
    source_mask[2, ..., -4:] = False
    found = []
    for count in (1, 2, 3):
        torch.set_num_threads(count)
        out, grown = layer.native_step(x, cross, **step)
        found.append((out, grown.key, grown.value, encoder(source, mask=source_mask)))
    for other in found[1:]:
        for a, b in zip(found[0], other, strict=True):
            assert torch.equal(a, b)
    own, own_past = DecoderLayer.forward(layer, x, cross, **step)
    assert_close(found[0][0], own, rtol=0, atol=1e-5)
    assert_close(found[0][1], own_past.key, rtol=0, atol=1e-5)
    expected = EncoderLayer.forward(encoder, source, mask=source_mask)
    assert_close(found[0][3], expected, rtol=0, atol=1e-5)


def test_fp32_layers_take_calls_with_a_part_for_every_thread_or_few_rows(monkeypatch) -> None:
    """A call whose sentences (or groups of beams) are at least the threads is native at any
    size; one with fewer only up to ``alone_rows`` rows (``NATIVE_ALONE``), beyond which the
    layer's own operators, on every thread, are faster."""
    plain = tiny_model().decoder.layers[0]
    weights = sum(m.weight.numel() for m in layer_module._linears(plain))
    monkeypatch.setattr(layer_module, "NATIVE_ALONE", 3 * weights + 1)
    layer = native_model().decoder.layers[0]
    assert layer.alone_rows == 3
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    assert layer.runs_natively(torch.zeros(2, 50, 32), None)
    assert layer.runs_natively(torch.zeros(1, 3, 32), None)
    assert not layer.runs_natively(torch.zeros(1, 4, 32), None)


@pytest.mark.parametrize("shape", SHAPES)
def test_decoding_with_native_layers_finds_the_same_translations(shape, native_calls) -> None:
    native = native_model(**SHAPES[shape])
    torch.manual_seed(0)
    own = tiny_model(**SHAPES[shape])  # the same weights, on PyTorch's layers
    src = pad_to([random_tokens(1, n)[0] for n in (6, 3, 8)], 8)
    beam = DecodingOptions(beam_size=4, nbest=4, max_len_b=12)
    found = beam_search(ModelScorer(native), src, options=beam)
    expected = beam_search(ModelScorer(own), src, options=beam)
    assert_same_nbest(found, expected, atol=1e-5)
    assert greedy_search(ModelScorer(native), src) == greedy_search(ModelScorer(own), src)
    drawn = DecodingOptions(sampling=Sampling(temperature=1.5), max_len_b=12)
    samples = [
        sample(ModelScorer(model), src, options=drawn, generator=torch.Generator().manual_seed(3))
        for model in (native, own)
    ]
    assert samples[0] == samples[1]
    assert native_calls and max(native_calls) == 12  # three sentences of four beams


@torch.no_grad()
def test_calls_the_kernel_cannot_take_run_the_layers_own_code(
    native_calls, own_attention, monkeypatch
) -> None:
    model = native_model()
    layer = model.decoder.layers[0]
    x, cross, past, self_mask, memory_mask = step_inputs(
        layer, groups=2, width=4, stored=3, padded=True
    )
    step = {"memory_mask": memory_mask, "past": past, "self_mask": self_mask}
    expected, _ = DecoderLayer.forward(layer, x, cross, **step)
    layer(x, cross, **step)
    assert native_calls == [8]
    native_calls.clear()
    model(random_tokens(2, 5), random_tokens(2, 4))  # the teacher-forced pass: no cache
    with torch.enable_grad():  # training: the encoder too runs its own code, which autograd sees
        model(random_tokens(2, 5), random_tokens(2, 4)).sum().backward()
    assert model.encoder.layers[0].ffn.w_1.weight.grad is not None
    with torch.enable_grad():
        layer(x.clone().requires_grad_(), cross, **step)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        layer(x, cross, **step)
    layer(x, cross, **step, maps=AttentionMaps())
    layer(x, cross, memory_mask=memory_mask, past=past, self_mask=self_mask[:, :, :1])
    layer.alone_rows = 7  # two groups for three threads, wider than one thread pays for
    monkeypatch.setattr(torch, "get_num_threads", lambda: 3)
    assert_close(layer(x, cross, **step)[0], expected)
    assert native_calls == []


def test_a_native_layer_keeps_the_state_dict_and_follows_changed_weights(own_attention) -> None:
    torch.manual_seed(0)
    plain = tiny_model()
    model = prepare_for_decoding(copy.deepcopy(plain), precision="fp32")
    assert model.state_dict().keys() == plain.state_dict().keys()
    layer = model.decoder.layers[0]
    x, cross, past, self_mask, _ = step_inputs(layer, groups=1, width=4, stored=2, padded=False)
    step = {"memory_mask": None, "past": past, "self_mask": self_mask}
    with torch.no_grad():
        before, _ = layer.native_step(x, cross, **step)
        layer.ffn.w_2.weight.mul_(3.0)
        after, _ = layer.native_step(x, cross, **step)
        own, _ = DecoderLayer.forward(layer, x, cross, **step)
    assert not torch.allclose(after, before)
    assert_close(after, own, rtol=0, atol=1e-5)
    copied = copy.deepcopy(model)
    src = random_tokens(2, 6)
    assert greedy_search(ModelScorer(copied), src) == greedy_search(ModelScorer(model), src)


@pytest.fixture
def fresh_build(monkeypatch, tmp_path) -> Iterator[None]:
    """``native_library`` built anew into an empty cache folder, and again after the test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    build.native_library.cache_clear()
    yield
    build.native_library.cache_clear()


def test_the_kernel_is_built_once_into_the_cache_folder(fresh_build, tmp_path) -> None:
    assert build.native_library() is not None
    (built,) = (tmp_path / "seq2seq" / "native").glob("kernels-*.so")
    made = built.stat().st_mtime_ns
    build.native_library.cache_clear()
    assert build.native_library() is not None
    assert built.stat().st_mtime_ns == made


def test_without_a_working_compiler_decoding_keeps_pytorchs_layers(
    fresh_build, monkeypatch
) -> None:
    monkeypatch.setenv("CC", "no-such-compiler")
    assert build.native_library() is None
    model = prepare_for_decoding(tiny_model(), precision="fp32")
    assert type(model.decoder.layers[0]) is DecoderLayer
    build.native_library.cache_clear()
    monkeypatch.setenv("CC", "false")  # a compiler that fails
    with pytest.warns(RuntimeWarning, match="native kernels unavailable"):
        assert build.native_library() is None


def test_without_openmp_the_kernels_are_built_for_one_thread(fresh_build, monkeypatch) -> None:
    monkeypatch.setattr(build, "THREADED", ("-fno-such-option",))  # a compiler without it
    assert build.native_library() is not None
    model = native_model()
    torch.manual_seed(0)
    own = tiny_model()
    src = random_tokens(3, 6)
    options = DecodingOptions(beam_size=4, max_len_b=10)
    found = beam_search(ModelScorer(model), src, options=options)
    assert [h[0].tokens for h in found] == [
        h[0].tokens for h in beam_search(ModelScorer(own), src, options=options)
    ]


def test_threads_decoding_at_once_find_what_one_finds() -> None:
    """A server decodes in several threads: each holds the weights it was given while the
    C code runs (the first calls describe them at once)."""
    model = native_model()
    src = [random_tokens(2, 6) for _ in range(8)]
    expected = [greedy_search(ModelScorer(model), s) for s in src]
    fresh = native_model()
    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(lambda s: greedy_search(ModelScorer(fresh), s), src))
    assert found == expected


@pytest.mark.parametrize(
    ("groups", "width", "vocab", "k"),
    [(1, 4, 8000, 4), (3, 5, 300, 5), (2, 1, 5, 6), (2, 2, 7, 3), (24, 4, 1000, 4)],
)  # the last shared among threads (top_k.c: from 2^16 scores)
def test_the_native_choice_of_candidates_equals_the_operators(groups, width, vocab, k) -> None:
    torch.manual_seed(vocab + k)
    scores = torch.randn(groups, width, vocab)
    scores[..., EOS_ID] += 3.0  # eos among the best of most rows
    scores[0, 0, :2] = -math.inf  # closed columns
    native = native_select_top(scores, k=k, eos=EOS_ID)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(selectors, "native_select_top", lambda *args, **kwargs: None)
        expected = selectors._top(scores, k=k)
    going, rows, tokens, ended_rows, ended_scores = native
    assert torch.equal(going, expected.scores)
    finite = going > -math.inf  # the rows and tokens of -inf pads never matter
    assert torch.equal(rows[finite], expected.rows[finite])
    assert torch.equal(tokens[finite], expected.tokens[finite])
    assert torch.equal(ended_rows, expected.ended_rows)
    assert torch.equal(ended_scores, expected.ended_scores)
    assert torch.equal(rows // width, torch.arange(groups)[:, None].expand(-1, k))  # pads too


@pytest.mark.parametrize(("rows", "vocab"), [(1, 5), (4, 8000), (3, 17), (400, 300)])
def test_the_native_log_softmax_overwrites_the_logits_with_torchs(rows, vocab) -> None:
    torch.manual_seed(rows)
    logits = torch.randn(rows, vocab) * 6
    logits[0, :2] = -math.inf  # closed columns
    expected = logits.log_softmax(-1)
    assert native_log_softmax_(logits) is logits  # the last shape shared among threads
    assert_close(logits, expected)


def test_the_native_log_softmax_leaves_what_it_does_not_take_to_torch() -> None:
    logits = torch.randn(3, 10)
    assert native_log_softmax_(logits.double()) is None
    assert native_log_softmax_(logits.t()) is None  # not contiguous
    kept = logits.clone().requires_grad_()
    scores = scorers._log_softmax(kept)  # a scorer's logits that autograd follows stay theirs
    assert scores.grad_fn is not None
    assert_close(kept.detach(), logits)
    assert_close(scores, logits.log_softmax(-1))
