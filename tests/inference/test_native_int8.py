"""Native int8 products: each output equals the integer arithmetic it stands for (inputs
quantized row by row, weights per output), stays close to fp32, a shortlist's rows keep the
same weights, and int8 decoding uses them where the CPU has AVX-512 VNNI."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.runtime import precision as precisions
from seq2seq.inference.runtime.native import attention
from seq2seq.inference.runtime.native.int8 import (
    NativeInt8Linear,
    native_int8_available,
    use_native_int8,
)
from seq2seq.inference.runtime.native.layer import NativeDecoderLayer, NativeEncoderLayer
from seq2seq.inference.runtime.precision import prepare_for_decoding
from seq2seq.inference.runtime.projection import restricted
from seq2seq.inference.search.beam import beam_search
from seq2seq.inference.search.scorers import ModelScorer
from seq2seq.inference.search.stepwise import greedy_search
from seq2seq.model import DecoderLayer, EncoderLayer, Transformer
from tests.inference.helpers import assert_same_nbest, step_inputs
from tests.model.helpers import pad_to, random_tokens, tiny_model

pytestmark = pytest.mark.skipif(
    not native_int8_available(), reason="no native library with AVX-512 VNNI on this machine"
)


def integer_reference(layer: NativeInt8Linear, x: torch.Tensor) -> torch.Tensor:
    """What the kernel computes, in torch: each row rounded to 127 steps of its largest
    magnitude, products summed exactly, then scaled."""
    most = x.abs().amax(1)
    scales = torch.where(most > 0, most / 127, torch.ones_like(most))
    quantized = torch.round(x * (1 / scales)[:, None]).to(torch.int64)
    sums = quantized @ layer.weight_int8.to(torch.int64).t()
    y = sums.float() * (scales[:, None] * layer.scales[None, :])
    return y if layer.bias is None else y + layer.bias


@pytest.mark.parametrize(
    ("rows", "inputs", "outputs", "bias"),
    [(1, 8, 16, True), (3, 130, 70, True), (4, 64, 357, False), (9, 512, 128, True),
     (400, 128, 200, True), (2, 5, 3, False)],
)  # fmt: skip
def test_an_int8_product_equals_its_integer_arithmetic(rows, inputs, outputs, bias) -> None:
    torch.manual_seed(rows + outputs)
    linear = nn.Linear(inputs, outputs, bias=bias)
    layer = NativeInt8Linear.of(linear)
    x = torch.randn(rows, inputs) * 3
    x[0] = 0.0  # a row of zeros: scale 1
    found = layer(x)
    assert_close(found, integer_reference(layer, x), rtol=1e-6, atol=1e-5)
    with torch.no_grad():
        exact = linear(x)
    assert (found - exact).abs().max() <= 0.02 * exact.abs().max()  # 8 bits each side


def test_an_int8_layer_takes_any_leading_shape_and_dtype() -> None:
    layer = NativeInt8Linear.of(nn.Linear(16, 32))
    x = torch.randn(2, 3, 16)
    assert_close(layer(x), layer(x.reshape(6, 16)).view(2, 3, 32))
    assert layer(x.double()).dtype is torch.float64
    assert_close(layer(x.transpose(0, 1)), layer(x).transpose(0, 1))  # not contiguous
    assert layer(torch.randn(0, 4, 16)).shape == (0, 4, 32)  # no rows


def test_a_shortlists_rows_keep_the_same_int8_weights() -> None:
    torch.manual_seed(0)
    layer = NativeInt8Linear.of(nn.Linear(32, 100))
    ids = torch.tensor([0, 1, 2, 3, 17, 40, 41, 99])
    kept = restricted(layer, ids)
    assert type(kept) is NativeInt8Linear and kept.out_features == len(ids)
    x = torch.randn(5, 32)
    assert_close(kept(x), layer(x)[:, ids], rtol=0, atol=0)


def test_int8_decoding_uses_the_native_products_and_stays_near_fp32() -> None:
    torch.manual_seed(0)
    plain = tiny_model()
    model = prepare_for_decoding(copy.deepcopy(plain), precision="int8")
    linears = [m for m in model.modules() if isinstance(m, nn.Linear | NativeInt8Linear)]
    assert linears and all(type(m) is NativeInt8Linear for m in linears)
    src, tgt = random_tokens(3, 7), random_tokens(3, 5)
    with torch.inference_mode():
        logits, expected = model(src, tgt), plain(src, tgt)
    assert (logits - expected).abs().max() <= 0.05 * expected.abs().max()
    assert len(greedy_search(ModelScorer(model), src)) == 3


def int8_models() -> tuple[Transformer, Transformer]:
    """A model prepared for int8 decoding, and the same int8 products on PyTorch's layers."""
    torch.manual_seed(0)
    plain = tiny_model(d_model=64, ffn_dim=128)
    own = use_native_int8(copy.deepcopy(plain))
    return prepare_for_decoding(plain, precision="int8"), own


@torch.inference_mode()
def test_int8_layers_run_natively_as_their_own_code_does(monkeypatch) -> None:
    """An int8 model's layers run in ``layers.c`` at every row count, with the same int8
    products: a step, and an encoder call, as the layer's own operators compute them."""
    monkeypatch.setattr(attention, "native_attention", lambda *args, **kwargs: None)
    model, _ = int8_models()
    layer, encoder = model.decoder.layers[1], model.encoder.layers[0]
    assert type(layer) is NativeDecoderLayer and type(encoder) is NativeEncoderLayer
    assert layer.alone_rows > 10**9
    x, cross, past, self_mask, memory_mask = step_inputs(
        layer, groups=9, width=4, stored=5, padded=True
    )
    step = {"memory_mask": memory_mask, "past": past, "self_mask": self_mask}
    native, grown = layer.native_step(x, cross, **step)
    own, own_past = DecoderLayer.forward(layer, x, cross, **step)
    assert_close(native, own, rtol=0, atol=1e-5)
    assert_close(grown.key, own_past.key, rtol=0, atol=1e-5)
    source = torch.randn(5, 8, 64)
    expected = EncoderLayer.forward(encoder, source, mask=None)
    assert_close(encoder(source, mask=None), expected, rtol=0, atol=1e-5)


def test_int8_decoding_on_native_layers_finds_what_the_layers_own_code_finds() -> None:
    model, own = int8_models()
    assert type(own.decoder.layers[0]) is DecoderLayer
    src = pad_to([random_tokens(1, n)[0] for n in (6, 3, 8, 5)], 8)
    options = DecodingOptions(beam_size=4, nbest=2, max_len_b=10)
    found = beam_search(ModelScorer(model), src, options=options)
    expected = beam_search(ModelScorer(own), src, options=options)
    assert_same_nbest(found, expected, atol=1e-4)


def test_without_vnni_int8_decoding_keeps_pytorchs_dynamic_quantization(monkeypatch) -> None:
    monkeypatch.setattr(precisions, "native_int8_available", lambda: False)
    model = prepare_for_decoding(tiny_model(), precision="int8")
    quantized = torch.ao.nn.quantized.dynamic.Linear
    assert any(type(m) is quantized for m in model.modules())
    assert not any(type(m) is NativeInt8Linear for m in model.modules())
