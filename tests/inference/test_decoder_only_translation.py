"""Translation without an encoder: the source read as a left-padded prompt, then greedy,
beam and sampling on the same key/value cache as the encoder-decoder."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from seq2seq.common.special import BOS_ID, EOS_ID, PAD_ID, source_prompt
from seq2seq.data.batching import collate_joined
from seq2seq.inference.options import DecodingOptions, Sampling
from seq2seq.inference.search.beam import beam_search
from seq2seq.inference.search.scorers import ModelScorer
from seq2seq.inference.search.stepwise import greedy_search, sample
from tests.model.helpers import pad_to, random_tokens, tiny_decoder_only

LENGTHS = (6, 2, 9, 4)  # source tokens, eos included


def sources() -> torch.Tensor:
    """(4, 9) right-padded sources of different lengths, each ending with eos."""
    rows = [torch.cat([random_tokens(1, n - 1)[0], torch.tensor([EOS_ID])]) for n in LENGTHS]
    return pad_to(rows, max(LENGTHS))


def greedy_without_cache(model, src: list[int], steps: int) -> list[int]:
    """The model run over the whole sequence at every step: no cache, no padding."""
    sequence = source_prompt(src)
    out: list[int] = []
    for _ in range(steps):
        logits = model(torch.tensor([sequence]))[0, -1]
        logits[[PAD_ID, BOS_ID]] = -math.inf  # never output
        token = int(logits.argmax())
        if token == EOS_ID:
            break
        out.append(token)
        sequence.append(token)
    return out


def test_prompts_are_left_padded_bos_source_bos() -> None:
    src = torch.tensor([[5, 6, EOS_ID], [7, EOS_ID, PAD_ID]])
    start = tiny_decoder_only().start_decoding(src)
    prompts, pads = start.tokens, start.pads
    assert prompts.tolist() == [
        [BOS_ID, 5, 6, EOS_ID, BOS_ID],
        [PAD_ID, BOS_ID, 7, EOS_ID, BOS_ID],
    ]
    assert pads.tolist() == [0, 1]


def test_cached_greedy_on_a_padded_batch_equals_each_sentence_decoded_in_full() -> None:
    torch.manual_seed(0)
    model = tiny_decoder_only()
    src = sources()
    options = DecodingOptions(beam_size=1, max_len_a=0, max_len_b=12)
    batched = greedy_search(ModelScorer(model), src, options=options)
    for row, n in enumerate(LENGTHS):
        expected = greedy_without_cache(model, src[row, :n].tolist(), 12)
        assert batched[row] == expected
    assert any(len(out) > 3 for out in batched)  # the comparison covers several steps


def test_beam_search_on_a_padded_batch_equals_each_sentence_alone() -> None:
    torch.manual_seed(1)
    model = tiny_decoder_only()
    src = sources()
    options = DecodingOptions(beam_size=4, nbest=3, max_len_a=0, max_len_b=10)
    batched = beam_search(ModelScorer(model), src, options=options)
    for row, n in enumerate(LENGTHS):
        alone = beam_search(ModelScorer(model), src[row : row + 1, :n], options=options)[0]
        assert [h.tokens for h in batched[row]] == [h.tokens for h in alone]
        assert [h.score for h in batched[row]] == pytest.approx([h.score for h in alone])


def test_beam_search_scores_are_the_log_probabilities_of_the_sequence() -> None:
    torch.manual_seed(2)
    model = tiny_decoder_only()
    src = sources()[2:3]
    (best, *_), *_ = beam_search(
        ModelScorer(model),
        src,
        options=DecodingOptions(beam_size=3, alpha=0.0, max_len_a=0, max_len_b=8),
    )
    sequence = source_prompt(src[0].tolist()) + best.tokens
    log_probs = model(torch.tensor([sequence]))[0].detach().log_softmax(-1)
    prompt = len(sequence) - len(best.tokens)
    targets = [*best.tokens, EOS_ID]
    total = sum(float(log_probs[prompt - 1 + i, t]) for i, t in enumerate(targets))
    assert best.score == pytest.approx(total, abs=1e-4)


def test_sampling_is_seeded_and_top_k_1_is_greedy() -> None:
    torch.manual_seed(3)
    model = tiny_decoder_only()
    src = sources()
    options = DecodingOptions(
        beam_size=1, max_len_a=0, max_len_b=8, sampling=Sampling(top_k=5, seed=1)
    )
    scorer = ModelScorer(model)
    draws = [sample(scorer, src, options=options, generator=torch.Generator().manual_seed(1))
             for _ in range(2)]  # fmt: skip
    assert draws[0] == draws[1]
    top1 = DecodingOptions(beam_size=1, max_len_a=0, max_len_b=8, sampling=Sampling(top_k=1))
    assert sample(ModelScorer(model), src, options=top1) == greedy_search(
        ModelScorer(model), src, options=top1
    )


def test_training_sequences_and_the_prompt_agree() -> None:
    """The logits that training scores for each target token are those that decoding sees."""
    torch.manual_seed(4)
    model = tiny_decoder_only()
    pairs = [(np.array([5, 6, 7]), np.array([8, 9])), (np.array([10]), np.array([11, 12, 13]))]
    batch = collate_joined([(i, src, tgt) for i, (src, tgt) in enumerate(pairs)])
    real = batch.target.ne(PAD_ID)
    taught = model(batch.prev_output, select=real)  # (target tokens + eos of both, vocab)
    assert batch.target[real].tolist() == [8, 9, EOS_ID, 11, 12, 13, EOS_ID]
    log_probs, state = ModelScorer(model).start(batch.src, reserve=8)
    stepped = [log_probs]
    for column in range(2):  # feed both pairs' target tokens, then compare row by row
        log_probs, state = state.step(None, torch.tensor([[8, 9][column], [11, 12][column]]))
        stepped.append(log_probs)
    taught = taught.log_softmax(-1)
    assert_close(torch.stack(stepped[:3])[:, 0], taught[:3], atol=1e-5, rtol=1e-4)
    assert_close(torch.stack(stepped[:3])[:, 1], taught[3:6], atol=1e-5, rtol=1e-4)
