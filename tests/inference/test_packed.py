"""Pre-packed linear layers: the same products as nn.Linear, in every mode a layer can run."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from seq2seq.inference import packed as packed_module
from seq2seq.inference.beam import beam_search
from seq2seq.inference.packed import PackedLinear, mkl_packing_available, pack_linear_layers
from seq2seq.inference.precision import prepare_for_decoding
from seq2seq.inference.search import greedy_search
from tests.model.helpers import random_tokens, tiny_model

pytestmark = pytest.mark.skipif(
    not mkl_packing_available(), reason="this PyTorch has no MKL packed GEMM"
)


def layer_pair() -> tuple[nn.Linear, PackedLinear]:
    torch.manual_seed(0)
    linear = nn.Linear(64, 96)
    return linear, PackedLinear(copy.deepcopy(linear))


@torch.no_grad()
def test_packed_products_equal_nn_linear_as_the_row_count_changes() -> None:
    linear, packed = layer_pair()
    for rows in (7, 7, 7, 5, 5, 9):
        x = torch.randn(rows, 1, 64)
        torch.testing.assert_close(packed(x), linear(x), rtol=0, atol=1e-5)
    assert packed._packed is not None and packed._packed[0] == 5  # a repeated count got packed


@torch.no_grad()
def test_a_weight_changed_in_place_is_repacked() -> None:
    linear, packed = layer_pair()
    x = torch.randn(6, 64)
    packed(x), packed(x)
    for layer in (linear, packed):
        layer.weight.mul_(2.0)
    torch.testing.assert_close(packed(x), linear(x), rtol=0, atol=1e-5)


def test_gradients_and_autocast_take_the_plain_product() -> None:
    linear, packed = layer_pair()
    x = torch.randn(4, 64)
    packed(x).sum().backward(), linear(x).sum().backward()
    torch.testing.assert_close(packed.weight.grad, linear.weight.grad)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        packed(x), packed(x)
        assert packed(x).dtype == torch.bfloat16


def test_packing_keeps_parameters_tied_and_the_state_dict_unchanged() -> None:
    model = tiny_model(tie_output_embeddings=True)
    keys = list(model.state_dict())
    pack_linear_layers(model.decoder)
    assert list(model.state_dict()) == keys
    assert isinstance(model.decoder.output_proj, PackedLinear)
    assert model.decoder.output_proj.weight is model.decoder.embed.tokens.weight


@pytest.mark.parametrize(("vendor", "packed"), [("GenuineIntel", True), ("AuthenticAMD", False)])
def test_fp32_decoding_packs_on_intel_cpus_only(monkeypatch, vendor: str, packed: bool) -> None:
    monkeypatch.setattr(packed_module, "cpu_vendor", lambda: vendor)
    model = prepare_for_decoding(tiny_model(), precision="fp32")
    assert isinstance(model.decoder.output_proj, PackedLinear) is packed
    assert isinstance(model.decoder.layers[0].ffn.w_1, PackedLinear) is packed


def test_packed_decoding_finds_the_same_translations() -> None:
    torch.manual_seed(0)
    model = tiny_model()
    packed = pack_linear_layers(copy.deepcopy(model).decoder)
    src = random_tokens(6, 9)
    plain_greedy = greedy_search(model, src)
    plain_beam = beam_search(model, src, beam_size=3, nbest=3)
    model.decoder = packed
    assert greedy_search(model, src) == plain_greedy
    packed_beam = beam_search(model, src, beam_size=3, nbest=3)
    assert [[h.tokens for h in n] for n in packed_beam] == [
        [h.tokens for h in n] for n in plain_beam
    ]
    for ours, theirs in zip(packed_beam, plain_beam, strict=True):
        assert [h.score for h in ours] == pytest.approx([h.score for h in theirs], abs=1e-5)
