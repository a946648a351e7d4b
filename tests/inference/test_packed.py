"""Pre-packed linear layers: the same products as nn.Linear, in every mode a layer can run."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.runtime import packed as packed_module
from seq2seq.inference.runtime.packed import (
    PACKED_CLASSES,
    MklPackedLinear,
    OneDnnPackedLinear,
    PackedLinear,
    mkl_packing_available,
    pack_linear_layers,
)
from seq2seq.inference.runtime.precision import prepare_for_decoding
from seq2seq.inference.runtime.projection import restricted
from seq2seq.inference.search.beam import beam_search
from seq2seq.inference.search.scorers import ModelScorer
from seq2seq.inference.search.stepwise import greedy_search
from tests.model.helpers import random_tokens, tiny_model

LIBRARIES = [
    pytest.param(
        "mkl",
        marks=pytest.mark.skipif(not mkl_packing_available(), reason="no MKL packed GEMM"),
    ),
    pytest.param(
        "onednn",
        marks=pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="no oneDNN"),
    ),
]
TOLERANCE = {"mkl": 1e-5, "onednn": 1e-4}  # MKL's products are F.linear's; oneDNN's round apart


def layer_pair(library: str) -> tuple[nn.Linear, PackedLinear]:
    torch.manual_seed(0)
    linear = nn.Linear(64, 4096)  # large enough that oneDNN packs it from 2 rows on
    return linear, PACKED_CLASSES[library](copy.deepcopy(linear))


@pytest.mark.parametrize("library", LIBRARIES)
@torch.no_grad()
def test_packed_products_equal_nn_linear_as_the_row_count_changes(library: str) -> None:
    linear, packed = layer_pair(library)
    for rows in (7, 7, 7, 5, 5, 9):
        x = torch.randn(rows, 1, 64)
        torch.testing.assert_close(packed(x), linear(x), rtol=0, atol=TOLERANCE[library])
    assert packed.packed.weight is not None


@torch.no_grad()
@pytest.mark.skipif(not mkl_packing_available(), reason="no MKL packed GEMM")
def test_mkl_packs_for_a_row_count_seen_twice_in_a_row() -> None:
    _, packed = layer_pair("mkl")
    for rows in (7, 5, 5, 9):
        packed(torch.randn(rows, 64))
    assert packed.packed.weight is not None and packed.packed.rows == 5


@torch.no_grad()
@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="no oneDNN")
def test_onednn_packs_one_row_only_for_a_large_weight() -> None:
    """One row per step (a sentence decoded greedily): a layer of the tiny preset is faster
    unpacked, an output projection packed."""
    torch.manual_seed(0)
    x = torch.randn(1, 1, 128)
    layer, projection = nn.Linear(128, 384), nn.Linear(128, 8000)
    packed_layer, packed_projection = (
        OneDnnPackedLinear(copy.deepcopy(m)) for m in (layer, projection)
    )
    assert torch.equal(packed_layer(x), layer(x))
    assert packed_layer.packed.weight is None
    torch.testing.assert_close(
        packed_projection(x), projection(x), rtol=0, atol=TOLERANCE["onednn"]
    )
    assert packed_projection.packed.weight is not None


@torch.no_grad()
@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="no oneDNN")
def test_onednn_leaves_a_small_weight_by_few_rows_to_the_plain_product() -> None:
    """A weight that stays in the cache (the tiny preset's layers, beam 4) is faster unpacked."""
    torch.manual_seed(0)
    linear = nn.Linear(128, 512)
    packed = OneDnnPackedLinear(copy.deepcopy(linear))
    x = torch.randn(4, 1, 128)
    assert torch.equal(packed(x), linear(x))
    assert packed.packed.weight is None
    many = torch.randn(400, 128)
    torch.testing.assert_close(packed(many), linear(many), rtol=0, atol=TOLERANCE["onednn"])
    assert packed.packed.weight is not None


@pytest.mark.parametrize("library", LIBRARIES)
def test_rows_of_a_weight_cut_in_inference_mode_are_packed(library: str) -> None:
    """A shortlist's rows of the projection are cut as a search starts, in inference mode,
    where tensors keep no count of in-place changes."""
    linear, packed = layer_pair(library)
    kept = torch.arange(4096).flip(0)
    x = torch.randn(7, 1, 64)
    with torch.inference_mode():
        rows = restricted(packed, kept)
        for _ in range(2):  # MKL packs for a row count seen twice in a row
            found = rows(x)
    assert rows.packed.weight is not None
    expected = linear(x).detach()[..., kept]
    torch.testing.assert_close(found, expected, rtol=0, atol=TOLERANCE[library])


@pytest.mark.parametrize("library", LIBRARIES)
@torch.no_grad()
def test_a_weight_changed_in_place_is_repacked(library: str) -> None:
    linear, packed = layer_pair(library)
    x = torch.randn(6, 64)
    packed(x), packed(x)
    for layer in (linear, packed):
        layer.weight.mul_(2.0)
    torch.testing.assert_close(packed(x), linear(x), rtol=0, atol=TOLERANCE[library])


@pytest.mark.parametrize("library", LIBRARIES)
def test_gradients_and_autocast_take_the_plain_product(library: str) -> None:
    linear, packed = layer_pair(library)
    x = torch.randn(4, 64)
    packed(x).sum().backward(), linear(x).sum().backward()
    torch.testing.assert_close(packed.weight.grad, linear.weight.grad)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        packed(x), packed(x)
        assert packed(x).dtype == torch.bfloat16


@pytest.mark.parametrize("library", LIBRARIES)
def test_packing_keeps_parameters_tied_and_the_state_dict_unchanged(library: str) -> None:
    model = tiny_model(tie_output_embeddings=True)
    keys = list(model.state_dict())
    pack_linear_layers(model, library=library)
    assert list(model.state_dict()) == keys
    assert isinstance(model.decoder.output_proj, PACKED_CLASSES[library])
    assert model.decoder.output_proj.weight is model.decoder.embed.tokens.weight


@pytest.mark.parametrize(
    ("vendor", "encoder", "decoder"),
    [
        ("GenuineIntel", nn.Linear, MklPackedLinear),
        ("AuthenticAMD", OneDnnPackedLinear, OneDnnPackedLinear),
        ("", nn.Linear, nn.Linear),  # no /proc/cpuinfo: not known to be x86
    ],
)
def test_fp32_decoding_packs_for_the_library_of_the_cpu(monkeypatch, vendor, encoder, decoder):
    if not (mkl_packing_available() and torch.backends.mkldnn.is_available()):
        pytest.skip("needs both MKL and oneDNN")
    monkeypatch.setattr(packed_module, "cpu_vendor", lambda: vendor)
    model = prepare_for_decoding(tiny_model(), precision="fp32")
    assert type(model.encoder.layers[0].ffn.w_1) is encoder
    assert type(model.decoder.layers[0].ffn.w_1) is decoder
    assert type(model.decoder.output_proj) is decoder


def test_packing_can_be_switched_off_and_falls_back_without_the_operators(monkeypatch) -> None:
    monkeypatch.setattr(packed_module, "cpu_vendor", lambda: "AuthenticAMD")
    unpacked = prepare_for_decoding(tiny_model(), precision="fp32", pack_weights=False)
    assert not any(isinstance(m, PackedLinear) for m in unpacked.modules())

    class NoPrivateOps:  # a PyTorch build without the private packing operators
        def __getattr__(self, namespace: str):
            raise AttributeError(namespace)

    monkeypatch.setattr(packed_module.torch, "ops", NoPrivateOps())
    assert not packed_module.mkl_packing_available()
    assert not packed_module.onednn_packing_available()
    assert packed_module.packing_library() is None
    model = prepare_for_decoding(tiny_model(), precision="fp32")
    assert not any(isinstance(m, PackedLinear) for m in model.modules())


@pytest.mark.parametrize("library", LIBRARIES)
def test_packed_decoding_finds_the_same_translations(library: str) -> None:
    torch.manual_seed(0)
    model = tiny_model()
    packed = pack_linear_layers(copy.deepcopy(model), library=library)
    src = random_tokens(6, 9)
    plain_greedy = greedy_search(ModelScorer(model), src)
    plain_beam = beam_search(ModelScorer(model), src, options=DecodingOptions(beam_size=3, nbest=3))
    assert greedy_search(ModelScorer(packed), src) == plain_greedy
    packed_beam = beam_search(
        ModelScorer(packed), src, options=DecodingOptions(beam_size=3, nbest=3)
    )
    assert [[h.tokens for h in n] for n in packed_beam] == [
        [h.tokens for h in n] for n in plain_beam
    ]
    for ours, theirs in zip(packed_beam, plain_beam, strict=True):
        scores = [h.score for h in theirs]
        assert [h.score for h in ours] == pytest.approx(scores, abs=TOLERANCE[library])
