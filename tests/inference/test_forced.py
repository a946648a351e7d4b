"""Forced decoding: a given target's log-probability, computed in one teacher-forced pass,
is what beam search computed step by step on its cache for the same tokens."""

from __future__ import annotations

import pytest
import torch

from seq2seq.common.special import EOS_ID, PAD_ID
from seq2seq.inference.forced import pair_log_probabilities
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.search.beam import beam_search
from seq2seq.inference.search.hypothesis import length_penalty
from seq2seq.inference.search.scorers import ModelScorer
from tests.model.helpers import pad_to, random_tokens, tiny_decoder_only, tiny_model


@pytest.mark.parametrize("build", [tiny_model, tiny_decoder_only])
def test_beam_hypotheses_score_what_beam_search_reported(build) -> None:
    torch.manual_seed(5)
    model = build()
    rows = [torch.cat([random_tokens(1, n)[0], torch.tensor([EOS_ID])]) for n in (5, 2, 8)]
    src = pad_to(rows, 9)
    options = DecodingOptions(beam_size=4, nbest=3, alpha=0.6, max_len_a=0, max_len_b=10)
    found = beam_search(ModelScorer(model), src, options=options)
    sources = [row[row.ne(PAD_ID)][:-1].tolist() for row in src]  # without eos
    pairs = [(sources[i], h) for i, hyps in enumerate(found) for h in hyps]
    forced = pair_log_probabilities(
        [model], [s for s, _ in pairs], [h.tokens for _, h in pairs], max_batch_tokens=40
    )
    assert len(pairs) == 9
    for (_, hypothesis), scores in zip(pairs, forced, strict=True):
        assert scores.shape == (len(hypothesis.tokens) + 1,)
        normalized = float(scores.sum()) / length_penalty(len(scores), 0.6)
        assert normalized == pytest.approx(hypothesis.score, abs=1e-4)
