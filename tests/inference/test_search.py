"""Greedy and beam search: on a hand-made table of probabilities and on a real tiny model."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
import torch

from seq2seq.common.errors import ConfigError
from seq2seq.common.special import BOS_ID, EOS_ID
from seq2seq.inference.options import DecodingOptions, Sampling
from seq2seq.inference.search.beam import beam_search
from seq2seq.inference.search.hypothesis import length_penalty
from seq2seq.inference.search.scorers import ModelScorer
from seq2seq.inference.search.stepwise import filter_logits, greedy_search, sample
from tests.model.helpers import random_tokens, tiny_model

A, B, X, Y, Z = 4, 5, 6, 7, 8
VOCAB = 9
# Next-token probabilities after each prefix (bos excluded). Greedy takes A (0.6) then at best
# 0.4: p = 0.24. Beam search finds B X: 0.4 * 0.9 = 0.36.
TABLE = {
    (): {A: 0.6, B: 0.4},
    (A,): {X: 0.3, Y: 0.3, Z: 0.4},
    (B,): {X: 0.9, Y: 0.1},
}


def table_log_probs(prefixes: list[tuple[int, ...]]) -> torch.Tensor:
    """(rows, VOCAB): TABLE's next-token log-probabilities after each prefix; eos once it
    runs out."""
    log_probs = torch.full((len(prefixes), VOCAB), -math.inf)
    for row, prefix in enumerate(prefixes):
        for token, p in TABLE.get(prefix, {EOS_ID: 1.0}).items():
            log_probs[row, token] = math.log(p)
    return log_probs


@dataclass(frozen=True)
class TableState:
    """Each row's prefix, following the search."""

    prefixes: list[tuple[int, ...]]

    def step(self, rows: torch.Tensor | None, tokens: torch.Tensor):
        kept = self.prefixes if rows is None else [self.prefixes[i] for i in rows.tolist()]
        prefixes = [(*p, t) for p, t in zip(kept, tokens.tolist(), strict=True)]
        return table_log_probs(prefixes), TableState(prefixes)


class TableScorer:
    """A scorer (``seq2seq.inference.search.scorers.Scorer``) that reads TABLE: search alone, no
    model."""

    def start(self, src: torch.Tensor, *, reserve: int, exact: bool = True):
        prefixes = [()] * src.size(0)
        return table_log_probs(prefixes), TableState(prefixes)

    def target_limit(self, source_tokens: torch.Tensor) -> torch.Tensor:
        return torch.full_like(source_tokens, 63)


@pytest.fixture
def table() -> TableScorer:
    """Search whose every step reads TABLE."""
    return TableScorer()


SRC = torch.tensor([[A, EOS_ID]])


def test_beam_finds_the_best_sequence_that_greedy_misses(table: TableScorer) -> None:
    assert greedy_search(table, SRC) == [[A, Z]]
    ((best, second),) = beam_search(
        table, SRC, options=DecodingOptions(beam_size=2, alpha=0.0, nbest=2)
    )
    assert best.tokens == [B, X] and best.score == pytest.approx(math.log(0.36))
    assert second.tokens == [A, Z] and second.score == pytest.approx(math.log(0.24))


def test_a_beam_wider_than_the_choices_keeps_only_real_hypotheses(table: TableScorer) -> None:
    ((best, second),) = beam_search(
        table, SRC, options=DecodingOptions(beam_size=5, alpha=0.0, nbest=2)
    )
    assert (best.tokens, second.tokens) == ([B, X], [A, Z])
    assert second.score == pytest.approx(math.log(0.24))


def test_length_penalty_is_gnmt_and_normalizes_scores(table: TableScorer) -> None:
    assert length_penalty(1, 0.0) == 1.0
    assert length_penalty(7, 1.0) == pytest.approx(2.0)
    ((best,),) = beam_search(table, SRC, options=DecodingOptions(beam_size=2, alpha=1.0))
    assert best.score == pytest.approx(math.log(0.36) / length_penalty(3, 1.0))


def test_max_length_cuts_and_min_length_delays_eos() -> None:
    model = tiny_model()
    src = random_tokens(2, 5)
    for hypotheses in beam_search(
        ModelScorer(model), src, options=DecodingOptions(beam_size=3, max_len_a=0, max_len_b=2)
    ):
        assert len(hypotheses[0].tokens) <= 2
    for hypotheses in beam_search(
        ModelScorer(model),
        src,
        options=DecodingOptions(beam_size=3, min_len=4, max_len_a=0, max_len_b=6),
    ):
        assert 4 <= len(hypotheses[0].tokens) <= 6


def test_beam_size_one_equals_greedy_on_a_real_model() -> None:
    model = tiny_model()
    src = torch.cat([random_tokens(4, 6), torch.full((4, 1), EOS_ID)], 1)
    greedy = greedy_search(
        ModelScorer(model), src, options=DecodingOptions(beam_size=1, max_len_b=8)
    )
    beam = beam_search(
        ModelScorer(model), src, options=DecodingOptions(beam_size=1, alpha=0.0, max_len_b=8)
    )
    assert [h[0].tokens for h in beam] == greedy


def test_batch_gives_the_same_results_as_one_sentence_at_a_time() -> None:
    model = tiny_model()
    src = torch.cat([random_tokens(3, 6), torch.full((3, 1), EOS_ID)], 1)
    src[1, 3:] = 0
    src[1, 3] = EOS_ID
    batched = beam_search(ModelScorer(model), src, options=DecodingOptions(beam_size=4, nbest=2))
    for row in range(3):
        length = int(src[row].ne(0).sum())
        alone = beam_search(
            ModelScorer(model),
            src[row : row + 1, :length],
            options=DecodingOptions(beam_size=4, nbest=2),
        )[0]
        assert [h.tokens for h in alone] == [h.tokens for h in batched[row]]
        assert [h.score for h in alone] == pytest.approx([h.score for h in batched[row]], abs=1e-4)


@pytest.mark.parametrize("beam_size", [5, 30])  # 30: more beams than the 22 first tokens
def test_beam_scores_are_the_models_own_log_probabilities(beam_size: int) -> None:
    """Each n-best hypothesis scores what the model gives it when forced through it: the beams
    (and their cache rows, which beam search moves between steps) were never mixed up."""
    model = tiny_model()
    src = torch.cat([random_tokens(3, 6), torch.full((3, 1), EOS_ID)], 1)
    results = beam_search(
        ModelScorer(model),
        src,
        options=DecodingOptions(beam_size=beam_size, alpha=1.0, min_len=6, max_len_b=10, nbest=5),
    )
    for row, hypotheses in enumerate(results):
        for hypothesis in hypotheses:
            target = torch.tensor([[*hypothesis.tokens, EOS_ID]])
            prev = torch.cat([torch.tensor([[BOS_ID]]), target[:, :-1]], 1)
            log_probs = model(src[row : row + 1], prev).log_softmax(-1)
            total = log_probs.gather(-1, target[..., None]).sum().item()
            expected = total / length_penalty(target.size(1), 1.0)
            assert hypothesis.score == pytest.approx(expected, abs=1e-4)


def test_nbest_cannot_exceed_beam() -> None:
    with pytest.raises(ConfigError, match=r"nbest \(3\) exceeds beam_size \(2\)"):
        DecodingOptions(beam_size=2, nbest=3)


def test_seeded_sampling_is_reproducible_and_top_k_stays_in_the_top_k() -> None:
    model = tiny_model()
    src = torch.cat([random_tokens(3, 5), torch.full((3, 1), EOS_ID)], 1)

    def draw(seed: int, **options):
        sampling = DecodingOptions(sampling=Sampling(**options))
        return sample(
            ModelScorer(model), src, options=sampling, generator=torch.Generator().manual_seed(seed)
        )

    assert draw(1) == draw(1)
    assert draw(1) != draw(2)
    logits = torch.randn(4, VOCAB)
    kept = filter_logits(logits, top_k=3).isfinite()
    assert kept.sum(-1).tolist() == [3] * 4
    assert torch.equal(kept.nonzero()[:, 1].view(4, 3).sort(-1).values,
                       logits.topk(3).indices.sort(-1).values)  # fmt: skip


def test_top_p_keeps_the_smallest_set_reaching_the_mass() -> None:
    logits = torch.tensor([[0.5, 0.3, 0.15, 0.05]]).log()
    assert filter_logits(logits, top_p=0.7).isfinite().tolist() == [[True, True, False, False]]
    assert filter_logits(logits, top_p=0.81).isfinite().sum().item() == 3
    assert filter_logits(logits, top_p=1.0).isfinite().all()
