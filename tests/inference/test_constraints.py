"""Lexically constrained beam search (dynamic beam allocation): every hypothesis contains
every phrase, progress through a phrase is tracked token by token, and the fullest bank of
candidates keeps a place in the beam."""

from __future__ import annotations

import pytest
import torch

from seq2seq.common.special import EOS_ID
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.search.beam import beam_search
from seq2seq.inference.search.constraints import Progress, SentenceConstraints, allocate
from seq2seq.inference.search.scorers import ModelScorer
from seq2seq.inference.search.selectors import Constrained
from tests.model.helpers import pad_to, random_tokens, tiny_decoder_only, tiny_model

TWO = SentenceConstraints(((5, 6, 7), (9,)))


def contains(tokens: list[int], phrase: tuple[int, ...]) -> bool:
    return any(tuple(tokens[i : i + len(phrase)]) == phrase for i in range(len(tokens)))


def test_progress_goes_on_breaks_off_and_meets_phrases() -> None:
    state = TWO.advance(Progress(), 5)
    assert state == Progress(frozenset(), 0, 1) and TWO.next_tokens(state) == {6}
    state = TWO.advance(state, 6)
    assert TWO.met_tokens(state) == 2
    broken = TWO.advance(state, 9)  # breaks the phrase off, and meets the other
    assert broken == Progress(frozenset({1})) and TWO.met_tokens(broken) == 1
    assert TWO.next_tokens(broken) == {5}
    done = TWO.advance(TWO.advance(TWO.advance(broken, 5), 6), 7)
    assert TWO.satisfied(done) and TWO.met_tokens(done) == TWO.tokens == 4


def test_the_fullest_bank_keeps_a_place_in_a_beam_of_one() -> None:
    beams = [Progress(frozenset(), 0, 2)]  # two tokens of (5, 6, 7) met
    candidates = [(-1.0, 0, 11), (-9.0, 0, 7)]  # the best breaks the phrase off
    assert allocate(candidates, beams, TWO, k=1) == [(-9.0, 0, 7)]
    assert allocate(candidates, beams, TWO, k=2) == candidates


@pytest.mark.parametrize("build", [tiny_model, tiny_decoder_only])
@pytest.mark.parametrize("beam_size", [1, 4])
def test_the_best_hypotheses_contain_every_phrase(build, beam_size: int) -> None:
    torch.manual_seed(6)
    model = build()
    rows = [torch.cat([random_tokens(1, n)[0], torch.tensor([EOS_ID])]) for n in (5, 3, 7)]
    src = pad_to(rows, 8)
    twice = SentenceConstraints(((12, 13), (12, 13), (20,)))
    wanted = [TWO, None, twice]
    options = DecodingOptions(beam_size=beam_size, max_len_a=0, max_len_b=12)
    found = beam_search(
        ModelScorer(model), src, options=options, selector=Constrained.start(wanted)
    )
    free = beam_search(ModelScorer(model), src, options=options)
    assert [h.tokens for h in found[1]] == [h.tokens for h in free[1]]  # no constraints
    for constraints in (TWO, twice):
        best = found[wanted.index(constraints)][0].tokens
        assert all(contains(best, phrase) for phrase in constraints.phrases), best
    best = found[2][0].tokens
    assert sum(best[i : i + 2] == [12, 13] for i in range(len(best))) >= 2  # twice


def test_a_sentence_that_cannot_meet_them_in_its_length_still_ends() -> None:
    torch.manual_seed(7)
    model = tiny_model()
    src = pad_to([torch.tensor([5, 6, EOS_ID])], 3)
    wanted = [SentenceConstraints(((8, 9, 10, 11),))]
    options = DecodingOptions(beam_size=3, max_len_a=0, max_len_b=2)
    (hypotheses,) = beam_search(
        ModelScorer(model), src, options=options, selector=Constrained.start(wanted)
    )
    assert hypotheses and len(hypotheses[0].tokens) <= 2
