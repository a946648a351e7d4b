"""Top-k in one native call and through block maxima: torch.topk's answer, and beam search's
hypotheses unchanged."""

from __future__ import annotations

import math
import os
import shutil

import pytest
import torch

from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.search import topk
from seq2seq.inference.search.beam import beam_search
from seq2seq.inference.search.scorers import ModelScorer
from seq2seq.inference.search.topk import BLOCK, MIN_BLOCKS_PER_K, top_k
from tests.model.helpers import tiny_model

NO_COMPILER = shutil.which(os.environ.get("CC", "cc")) is None


@pytest.fixture(
    params=[
        pytest.param("native", marks=pytest.mark.skipif(NO_COMPILER, reason="no C compiler")),
        "blocks",
    ]
)
def way(request, monkeypatch) -> str:
    """Each way ``top_k`` takes on a CPU: the native kernel, or block maxima without it."""
    if request.param == "blocks":
        monkeypatch.setattr(topk, "native_top_k", lambda scores, k: None)
    return request.param


@pytest.mark.parametrize("rows", [1, 3])
@pytest.mark.parametrize("n", [32_000, 32_000 + 77, 40 * BLOCK])
@pytest.mark.parametrize("k", [1, 8, 10])
def test_top_k_equals_torch_topk(way: str, rows: int, n: int, k: int) -> None:
    torch.manual_seed(rows * n + k)
    scores = torch.randn(rows, n)
    scores[0, -1] = 10.0  # the largest in the partial block at the end, when there is one
    values, columns = top_k(scores, k)
    expected = scores.topk(k, dim=1)
    torch.testing.assert_close(values, expected.values, rtol=0, atol=0)
    assert torch.equal(columns, expected.indices)


def test_top_k_of_rows_mostly_minus_infinity(way: str) -> None:
    """A row at its length limit allows eos alone: the finite scores come first, then -inf."""
    scores = torch.full((2, 32_000), -math.inf)
    scores[0, [3, 8003, 16003]] = torch.tensor([-1.0, -3.0, -2.0])
    values, columns = top_k(scores, 8)
    assert values[0, :3].tolist() == [-1.0, -2.0, -3.0]
    assert columns[0, :3].tolist() == [3, 16003, 8003]
    assert bool(values[0, 3:].isneginf().all()) and bool(values[1].isneginf().all())


def test_beam_search_finds_the_same_hypotheses_with_plain_topk(way: str, monkeypatch) -> None:
    """A vocabulary of 3,000 at beam 4: 12,000 candidates a step go through the blocks."""
    torch.manual_seed(0)
    scorer = ModelScorer(tiny_model(src_vocab_size=3000, tgt_vocab_size=3000))
    src = torch.randint(4, 3000, (3, 9))
    options = DecodingOptions(beam_size=4, nbest=4, max_len_a=0, max_len_b=12)
    assert MIN_BLOCKS_PER_K * 8 * BLOCK <= 4 * 3000
    blocks = beam_search(scorer, src, options=options)
    monkeypatch.setattr(topk, "native_top_k", lambda scores, k: None)
    monkeypatch.setattr(topk, "MIN_BLOCKS_PER_K", 10**9)  # torch.topk alone
    plain = beam_search(scorer, src, options=options)
    assert blocks == plain
    assert {len(hypotheses) for hypotheses in blocks} == {4}


@pytest.mark.skipif(NO_COMPILER, reason="no C compiler")
@pytest.mark.parametrize(("n", "k"), [(5, 5), (130, 1), (300, 64)])
def test_the_native_top_k_takes_short_rows_and_keeps_ties_in_column_order(n, k) -> None:
    torch.manual_seed(n)
    scores = torch.randn(2, n).round(decimals=1)  # many ties
    values, columns = topk.native_top_k(scores, k)
    expected = scores.topk(k, dim=1)
    torch.testing.assert_close(values, expected.values, rtol=0, atol=0)
    ties_first = [sorted(range(n), key=lambda c, row=row: (-row[c], c))[:k] for row in scores]
    assert columns.tolist() == ties_first


def test_the_native_top_k_leaves_what_it_does_not_take_to_torch() -> None:
    scores = torch.randn(2, 500)
    assert topk.native_top_k(scores, 65) is None  # k beyond MAX_K
    assert topk.native_top_k(scores.double(), 8) is None
    assert topk.native_top_k(scores[:, :4], 5) is None
    torch.testing.assert_close(top_k(scores, 65)[0], scores.topk(65, dim=1).values)
