"""Shallow fusion: a language model's weighted log-probabilities in beam search."""

from __future__ import annotations

import pytest
import torch

from seq2seq.common.errors import DataError
from seq2seq.common.special import BOS_ID, EOS_ID
from seq2seq.data.tokenizer import Tokenizer, TokenizerConfig, train_sentencepiece
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.search.beam import beam_search
from seq2seq.inference.search.hypothesis import length_penalty
from seq2seq.inference.search.scorers import LanguageModelScorer, ModelScorer, fused
from seq2seq.inference.search.vocabulary import check_same_pieces
from tests.data.corpus import sentence_pairs
from tests.model.helpers import random_tokens, tiny_decoder_only, tiny_model

SRC = torch.cat([random_tokens(3, 5), torch.full((3, 1), EOS_ID)], 1)


def models():
    torch.manual_seed(0)
    return tiny_model(), tiny_decoder_only()


def fusion(tm, lm, weight: float):
    return fused(ModelScorer(tm), LanguageModelScorer(lm), weight=weight)


@torch.no_grad()
def fused_log_prob(tm, lm, src: torch.Tensor, tokens: list[int], weight: float) -> float:
    """sum over the output and its eos of log p_TM + W log p_LM, by full forwards."""
    prev = torch.tensor([[BOS_ID, *tokens]])
    target = torch.tensor([*tokens, EOS_ID])
    tm_log_probs = tm(src[None], prev)[0].log_softmax(-1)
    lm_log_probs = lm(prev)[0].log_softmax(-1)
    fused = tm_log_probs + weight * lm_log_probs
    return float(fused[torch.arange(len(target)), target].sum())


@pytest.mark.parametrize("beam_size", [1, 4])
def test_weight_zero_is_plain_beam_search(beam_size: int) -> None:
    tm, lm = models()
    options = DecodingOptions(beam_size=beam_size, nbest=beam_size, max_len_b=8)
    plain = beam_search(ModelScorer(tm), SRC, options=options)
    fused = beam_search(fusion(tm, lm, 0.0), SRC, options=options)
    assert [[h.tokens for h in s] for s in fused] == [[h.tokens for h in s] for s in plain]
    for ours, theirs in zip(fused, plain, strict=True):
        assert [h.score for h in ours] == pytest.approx([h.score for h in theirs])


@pytest.mark.parametrize("weight", [0.3, 2.0])
def test_fused_scores_are_the_weighted_sums_of_both_models(weight: float) -> None:
    """Every hypothesis' score is its fused log-probability, recomputed without caches, over
    the length penalty: the language model's rows followed the beams."""
    tm, lm = models()
    options = DecodingOptions(beam_size=4, nbest=4, max_len_b=8, alpha=1.0)
    fused = beam_search(fusion(tm, lm, weight), SRC, options=options)
    plain = beam_search(ModelScorer(tm), SRC, options=options)
    for row, hypotheses in enumerate(fused):
        for h in hypotheses:
            expected = fused_log_prob(tm, lm, SRC[row], h.tokens, weight)
            assert h.score == pytest.approx(
                expected / length_penalty(len(h.tokens) + 1, 1.0), abs=1e-4
            )
    assert [[h.tokens for h in s] for s in fused] != [[h.tokens for h in s] for s in plain]


@pytest.mark.parametrize(
    ("seed", "size", "difference"), [(1, 300, "300 pieces against"), (2, 400, "piece ")]
)
def test_a_language_model_of_another_vocabulary_is_refused(
    model_dir, tmp_path, seed: int, size: int, difference: str
) -> None:
    text = tmp_path / "text.txt"
    text.write_text(
        "".join(f"{en}\n{fa}\n" for en, fa in sentence_pairs(200, seed=seed)), encoding="utf-8"
    )
    other = Tokenizer(
        train_sentencepiece([text], tmp_path / "spm", TokenizerConfig(vocab_size=size), seed=1)
    )
    ours = Tokenizer(model_dir / "spm.model")
    check_same_pieces(ours, Tokenizer(model_dir / "spm.model"), why="fused")
    with pytest.raises(DataError, match=f"not the vocabulary of .*spm.model \\({difference}"):
        check_same_pieces(ours, other, why="fused")
