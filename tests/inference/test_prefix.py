"""A forced target prefix: every search begins its outputs with it, scores it at its true
probability, and goes on as it would have after those tokens."""

from __future__ import annotations

import pytest
import torch

from seq2seq.common.special import EOS_ID, PAD_ID
from seq2seq.inference.forced import pair_log_probabilities
from seq2seq.inference.options import DecodingOptions, Sampling
from seq2seq.inference.search.beam import beam_search
from seq2seq.inference.search.hypothesis import length_penalty
from seq2seq.inference.search.prefix import Prefixes
from seq2seq.inference.search.scorers import ModelScorer
from seq2seq.inference.search.stepwise import greedy_search, sample
from tests.model.helpers import pad_to, random_tokens, tiny_decoder_only, tiny_model

PREFIXES = [[5, 6, 7], [], [9]]
LIMITS = {"max_len_a": 0, "max_len_b": 8}


def sources() -> torch.Tensor:
    rows = [torch.cat([random_tokens(1, n)[0], torch.tensor([EOS_ID])]) for n in (4, 6, 2)]
    return pad_to(rows, 7)


@pytest.mark.parametrize("build", [tiny_model, tiny_decoder_only])
@pytest.mark.parametrize(
    "options",
    [
        DecodingOptions(beam_size=1, **LIMITS),
        DecodingOptions(beam_size=3, nbest=3, **LIMITS),
        DecodingOptions(beam_size=1, sampling=Sampling(top_k=5), **LIMITS),
    ],
    ids=["greedy", "beam", "sampling"],
)
def test_every_output_begins_with_its_prefix(build, options: DecodingOptions) -> None:
    torch.manual_seed(0)
    model, src = build(), sources()
    prefixes = Prefixes.of(PREFIXES)
    if options.sampling is not None:
        outputs = [
            [h]
            for h in sample(
                ModelScorer(model), src, options=options, **forcing(model, src, options, prefixes)
            )
        ]
    elif options.beam_size == 1:
        outputs = [
            [h]
            for h in greedy_search(
                ModelScorer(model), src, options=options, **forcing(model, src, options, prefixes)
            )
        ]
    else:
        found = beam_search(
            ModelScorer(model), src, options=options, **forcing(model, src, options, prefixes)
        )
        outputs = [[h.tokens for h in hyps] for hyps in found]
        assert all(len(hyps) == 3 for hyps in outputs)
    for prefix, candidates in zip(PREFIXES, outputs, strict=True):
        for tokens in candidates:
            assert tokens[: len(prefix)] == prefix


def forcing(model, src: torch.Tensor, options: DecodingOptions, prefixes: Prefixes) -> dict:
    """The rule and the length limits that force ``prefixes``, as the Translator gives them."""
    return {"rules": [prefixes], "limits": prefixes.limits(src, options, scorer=ModelScorer(model))}


@pytest.mark.parametrize("build", [tiny_model, tiny_decoder_only])
def test_greedy_after_its_own_first_tokens_is_greedy(build) -> None:
    torch.manual_seed(1)
    model, src = build(), sources()
    options = DecodingOptions(beam_size=1, **LIMITS)
    free = greedy_search(ModelScorer(model), src, options=options)
    own = Prefixes.of([tokens[:2] for tokens in free])
    assert (
        greedy_search(ModelScorer(model), src, options=options, **forcing(model, src, options, own))
        == free
    )


@pytest.mark.parametrize("build", [tiny_model, tiny_decoder_only])
def test_beam_scores_count_the_prefix_at_its_probability(build) -> None:
    torch.manual_seed(2)
    model, src = build(), sources()
    options = DecodingOptions(beam_size=3, nbest=2, alpha=0.6, **LIMITS)
    found = beam_search(
        ModelScorer(model),
        src,
        options=options,
        **forcing(model, src, options, Prefixes.of(PREFIXES)),
    )
    plain = [row[row.ne(PAD_ID)][:-1].tolist() for row in src]
    pairs = [(plain[i], h) for i, hyps in enumerate(found) for h in hyps]
    forced = pair_log_probabilities(
        [model], [s for s, _ in pairs], [h.tokens for _, h in pairs], max_batch_tokens=64
    )
    for (_, hypothesis), scores in zip(pairs, forced, strict=True):
        expected = float(scores.sum()) / length_penalty(len(scores), 0.6)
        assert hypothesis.score == pytest.approx(expected, abs=1e-4)


def test_a_prefix_longer_than_the_length_budget_is_kept_whole() -> None:
    torch.manual_seed(3)
    model, src = tiny_model(), sources()[:1]
    prefix = [5, 6, 7, 8, 9, 10]
    options = DecodingOptions(beam_size=2, max_len_a=0, max_len_b=2)
    ((best, *_),) = beam_search(
        ModelScorer(model),
        src,
        options=options,
        **forcing(model, src, options, Prefixes.of([prefix])),
    )
    assert best.tokens[:6] == prefix
