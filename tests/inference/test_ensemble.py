"""Ensembles: models of one vocabulary decoding as one, their weighted log-probabilities
summed and renormalized at every step, each member on its own cache."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from seq2seq.common.errors import DataError
from seq2seq.common.special import BOS_ID, EOS_ID, source_prompt
from seq2seq.inference.forced import pair_log_probabilities
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.search.beam import beam_search
from seq2seq.inference.search.hypothesis import length_penalty
from seq2seq.inference.search.scorers import ModelScorer, ensemble
from seq2seq.inference.search.stepwise import greedy_search
from seq2seq.inference.translator import Translator
from tests.model.helpers import pad_to, random_tokens, tiny_decoder_only, tiny_model

WEIGHTS = (0.7, 0.3)
OPTIONS = DecodingOptions(beam_size=4, nbest=3, alpha=1.0, max_len_a=0, max_len_b=10)
SENTENCES = ["The three red books are here.", "A cat sat.", "We bought a small house."]


def sources() -> torch.Tensor:
    """(3, 7) right-padded sources of different lengths, each ending with eos."""
    rows = [torch.cat([random_tokens(1, n - 1)[0], torch.tensor([EOS_ID])]) for n in (7, 3, 5)]
    return pad_to(rows, 7)


def members():
    """An encoder-decoder and a decoder-only model of another size, one vocabulary."""
    torch.manual_seed(0)
    return tiny_model(), tiny_decoder_only(d_model=32, ffn_dim=48, decoder_layers=3)


@torch.no_grad()
def ensemble_log_prob(src: list[int], tokens: list[int]) -> float:
    """log p of ``tokens`` and eos by full forwards, no cache: at each position,
    log_softmax(sum_i w_i log p_i)."""
    encoder_decoder, decoder_only = members()
    prev = [BOS_ID, *tokens]
    first = encoder_decoder(torch.tensor([src]), torch.tensor([prev]))[0].log_softmax(-1)
    prompt = source_prompt(src)
    second = decoder_only(torch.tensor([prompt + tokens]))[0, len(prompt) - 1 :].log_softmax(-1)
    combined = (WEIGHTS[0] * first + WEIGHTS[1] * second).log_softmax(-1)
    return sum(float(combined[i, t]) for i, t in enumerate([*tokens, EOS_ID]))


def test_a_model_with_itself_is_that_model() -> None:
    model, _ = members()
    src = sources()
    alone = beam_search(ModelScorer(model), src, options=OPTIONS)
    scorer = ModelScorer(model)
    twice = beam_search(ensemble([scorer, scorer], [0.5, 0.5]), src, options=OPTIONS)
    assert [[h.tokens for h in s] for s in twice] == [[h.tokens for h in s] for s in alone]
    for ours, theirs in zip(twice, alone, strict=True):
        assert [h.score for h in ours] == pytest.approx([h.score for h in theirs], abs=1e-5)
    assert ensemble([scorer], [1.0]) is scorer


def test_hypothesis_scores_are_the_weighted_combination_without_caches() -> None:
    """Each member's rows followed the beams: the scores equal full forwards of both."""
    src = sources()
    scorer = ensemble([ModelScorer(m) for m in members()], WEIGHTS)
    found = beam_search(scorer, src, options=OPTIONS)
    assert sum(len(hypotheses) for hypotheses in found) == 9
    for row, hypotheses in enumerate(found):
        plain = src[row][src[row].ne(0)].tolist()
        for h in hypotheses:
            expected = ensemble_log_prob(plain, h.tokens)
            assert h.score == pytest.approx(expected / length_penalty(len(h.tokens) + 1, 1.0),
                                            abs=1e-4)  # fmt: skip


def test_forced_scoring_of_an_ensemble_equals_what_search_reported() -> None:
    src = sources()
    models = members()
    found = beam_search(ensemble([ModelScorer(m) for m in models], WEIGHTS), src, options=OPTIONS)
    pairs = [(src[i][src[i].ne(0)][:-1].tolist(), h) for i, hs in enumerate(found) for h in hs]
    forced = pair_log_probabilities(
        models, [s for s, _ in pairs], [h.tokens for _, h in pairs], weights=WEIGHTS,
        max_batch_tokens=64,
    )  # fmt: skip
    for (_, h), scores in zip(pairs, forced, strict=True):
        assert h.score == pytest.approx(float(scores.sum()) / length_penalty(len(scores), 1.0),
                                        abs=1e-4)  # fmt: skip


def test_greedy_search_of_an_ensemble_is_its_beam_of_one() -> None:
    src = sources()
    scorer = ensemble([ModelScorer(m) for m in members()], WEIGHTS)
    options = DecodingOptions(beam_size=1, alpha=0.0, max_len_a=0, max_len_b=10)
    beam = beam_search(scorer, src, options=options)
    assert greedy_search(scorer, src, options=options) == [h[0].tokens for h in beam]


def test_a_translator_of_a_model_with_itself_translates_as_the_model(model_dir: Path) -> None:
    options = DecodingOptions(beam_size=3, nbest=2)
    alone = Translator.load(model_dir).translate_nbest(SENTENCES, options=options)
    twice = Translator.load(model_dir, model_dir, weights=[2, 2]).translate_nbest(
        SENTENCES, options=options
    )
    assert [[c.text for c in s] for s in twice] == [[c.text for c in s] for s in alone]
    for ours, theirs in zip(twice, alone, strict=True):
        assert [c.score for c in ours] == pytest.approx([c.score for c in theirs], abs=1e-5)


def test_nbest_prefixes_constraints_and_fusion_work_with_an_ensemble(
    model_dir: Path, decoder_only_dir: Path, lm_dir: Path
) -> None:
    translator = Translator.load(
        model_dir, decoder_only_dir, weights=[0.6, 0.4], lm_dir=lm_dir, lm_weight=0.2
    )
    options = DecodingOptions(beam_size=4, nbest=3, max_len_a=0, max_len_b=12)
    prefixes = ["کتاب", "", "ما"]
    found = translator.translate_nbest(
        SENTENCES, options=options, prefixes=prefixes, constraints=[["قرمز"], [], ["خانه"]]
    )
    assert all(len(candidates) == 3 for candidates in found)
    for candidates, prefix, phrase in zip(found, prefixes, ["قرمز", "", "خانه"], strict=True):
        assert all(c.text.startswith(prefix) and phrase in c.text for c in candidates[:1])
    scores = translator.score(SENTENCES[::2], ["کتاب قرمز", "ما"])
    assert all(s.log_prob < 0 for s in scores)


def test_members_of_another_vocabulary_are_one_error_naming_both(
    model_dir: Path, other_vocabulary_dir: Path
) -> None:
    with pytest.raises(DataError) as raised:
        Translator.load(model_dir, other_vocabulary_dir)
    assert str(raised.value).startswith(f"{other_vocabulary_dir}/spm.model: not the vocabulary")
    assert f"{model_dir}/spm.model" in str(raised.value)
