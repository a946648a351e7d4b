"""A decoder-only model's continuations (greedy, sampled) and its scores of given text."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from seq2seq.common.special import BOS_ID, EOS_ID
from seq2seq.inference.generate import continue_prompt, token_log_probabilities
from seq2seq.inference.options import Sampling
from seq2seq.inference.search.stepwise import drawing, most_probable
from tests.model.helpers import random_tokens, tiny_decoder_only

PROMPT = [5, 9, 7]


def recomputed_greedy(model, prompt: list[int], steps: int) -> list[int]:
    """Greedy continuation without the cache: the whole sequence again at every step."""
    tokens = [BOS_ID, *prompt]
    for _ in range(steps):
        logits = model(torch.tensor([tokens]))[0, -1]
        logits[EOS_ID] = float("-inf")
        tokens.append(int(logits.argmax()))
    return tokens[len(prompt) + 1 :]


def test_greedy_continuation_on_the_cache_equals_recomputing_each_step() -> None:
    model = tiny_decoder_only()
    (continued,) = continue_prompt(
        model, PROMPT, count=1, max_tokens=12, choose=most_probable, min_len=12
    )
    assert continued == recomputed_greedy(model, PROMPT, 12)


def draw(model, *, seed: int, **sampling: float) -> list[list[int]]:
    generator = torch.Generator().manual_seed(seed)
    choose = drawing(Sampling(**sampling), generator=generator)
    return continue_prompt(model, PROMPT, count=5, max_tokens=10, choose=choose)


def test_the_same_seed_draws_the_same_samples_and_another_seed_others() -> None:
    model = tiny_decoder_only()
    first = draw(model, seed=1, top_k=40, top_p=0.9)
    assert first == draw(model, seed=1, top_k=40, top_p=0.9)
    assert first != draw(model, seed=2, top_k=40, top_p=0.9)
    assert len(set(map(tuple, first))) > 1  # five rows, each drawn on its own


def test_top_k_one_is_greedy() -> None:
    model = tiny_decoder_only()
    greedy = continue_prompt(model, PROMPT, count=3, max_tokens=10, choose=most_probable)
    assert draw(model, seed=3, top_k=1)[:3] == greedy


def test_outputs_stop_at_eos_or_max_tokens() -> None:
    model = tiny_decoder_only()
    with torch.no_grad():
        model.decoder.output_proj.weight[EOS_ID] = 0  # eos never the likeliest: the budget ends it
    for tokens in draw(model, seed=4, temperature=0.5):
        assert 1 <= len(tokens) <= 10 and EOS_ID not in tokens


def test_a_prompt_as_long_as_the_model_allows_is_an_error() -> None:
    model = tiny_decoder_only()
    too_long = random_tokens(1, model.cfg.max_positions - 1)[0].tolist()
    with pytest.raises(ValueError, match="leaves no room"):
        continue_prompt(model, too_long, count=1, max_tokens=5, choose=most_probable)


def test_log_probabilities_are_those_of_the_full_forward_in_any_batching() -> None:
    model = tiny_decoder_only()
    sequences = [random_tokens(1, n)[0].tolist() for n in (4, 0, 9, 2)]
    batched = token_log_probabilities(model, sequences)
    one_by_one = token_log_probabilities(model, sequences, max_batch_tokens=1)
    for ids, scores, alone in zip(sequences, batched, one_by_one, strict=True):
        log_probs = model(torch.tensor([[BOS_ID, *ids]]))[0].log_softmax(-1)
        expected = log_probs[torch.arange(len(ids) + 1), torch.tensor([*ids, EOS_ID])]
        assert_close(scores, expected)
        assert_close(alone, expected)
        assert scores.shape == (len(ids) + 1,) and bool((scores < 0).all())
