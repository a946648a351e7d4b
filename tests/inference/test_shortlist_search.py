"""Search over a shortlist: the scorers project onto the batch's kept target ids alone and
normalize over them, and every search, n-best list, prefix, constraint, ensemble and forced
score reads the same restricted distribution."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

from seq2seq.common.special import EOS_ID, SPECIAL_IDS
from seq2seq.inference.forced import pair_log_probabilities
from seq2seq.inference.options import DecodingOptions, Sampling
from seq2seq.inference.runtime.packed import PACKED_CLASSES
from seq2seq.inference.runtime.projection import QuantizedRows, restricted
from seq2seq.inference.search.beam import beam_search
from seq2seq.inference.search.columns import Columns
from seq2seq.inference.search.hypothesis import length_penalty
from seq2seq.inference.search.scorers import LanguageModelScorer, ModelScorer, ensemble, fused
from seq2seq.inference.translator import Translator
from seq2seq.modeldir.format import load_model_dir
from seq2seq.modeldir.shortlist import Shortlist
from tests.model.helpers import pad_to, random_tokens, tiny_decoder_only, tiny_model

SENTENCES = ["The three red books are here.", "A cat sat.", "We bought a small house."]
BEAM = DecodingOptions(beam_size=4, nbest=3, max_len_a=0, max_len_b=8)


def sources() -> torch.Tensor:
    """(3, 7) right-padded sources of different lengths, each ending with eos."""
    rows = [torch.cat([random_tokens(1, n - 1)[0], torch.tensor([EOS_ID])]) for n in (7, 3, 5)]
    return pad_to(rows, 7)


def narrow_shortlist(vocab: int, *, k: int = 3, frequent: int = 5, seed: int = 0) -> Shortlist:
    """Each source id's k target ids drawn at random, and ``frequent`` ids from the top."""
    generator = torch.Generator().manual_seed(seed)
    lists = torch.randint(SPECIAL_IDS, vocab, (vocab, k), generator=generator)
    return Shortlist(lists, torch.arange(vocab - frequent, vocab))


def everything(vocab: int) -> Shortlist:
    return Shortlist(torch.arange(vocab)[None, :].expand(vocab, -1), torch.arange(0))


def translation_model() -> ModelScorer:
    torch.manual_seed(0)
    return ModelScorer(tiny_model().eval())


def language_model() -> LanguageModelScorer:
    torch.manual_seed(0)
    return LanguageModelScorer(tiny_decoder_only(d_model=32, ffn_dim=48, decoder_layers=2).eval())


@pytest.mark.parametrize("make", [translation_model, language_model])
def test_a_restricted_scorer_gives_the_kept_ids_log_probabilities_renormalized(make) -> None:
    scorer = make()
    src = sources()
    ids = narrow_shortlist(scorer.model.cfg.tgt_vocab_size).kept(src)
    full, full_state = scorer.start(src, reserve=4, exact=False)  # the logits
    kept, state = scorer.restricted(ids).start(src, reserve=4)
    assert kept.shape == (3, len(ids))
    torch.testing.assert_close(kept, full[:, ids].log_softmax(-1))
    # the next step reads columns: column c is target id ids[c]
    columns = torch.tensor([5, 9, 7])
    stepped, _ = state.step(None, columns)
    full_next, _ = full_state.step(None, ids[columns])
    torch.testing.assert_close(stepped, full_next[:, ids].log_softmax(-1))


@pytest.mark.parametrize("kind", ["linear", *PACKED_CLASSES, "int8"])
def test_a_restricted_projection_is_those_outputs_of_the_layer(kind: str) -> None:
    torch.manual_seed(0)
    layer = nn.Linear(16, 50)
    if kind in PACKED_CLASSES:
        layer = PACKED_CLASSES[kind](layer)
    elif kind == "int8":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            layer = torch.ao.quantization.quantize_dynamic(
                nn.Sequential(layer), {nn.Linear}, dtype=torch.qint8
            )[0]
    rows = torch.tensor([0, 3, 7, 8, 49])
    narrow = restricted(layer, rows)
    assert type(narrow) is (QuantizedRows if kind == "int8" else type(layer))
    x = torch.randn(4, 16)
    with torch.no_grad():
        for _ in range(3):  # MKL packs at the second product of a row count
            torch.testing.assert_close(narrow(x), layer(x)[:, rows], rtol=1e-5, atol=1e-5)


def test_beam_search_over_a_shortlist_scores_as_forced_scoring_with_it_does() -> None:
    scorer = translation_model()
    src = sources()
    shortlist = narrow_shortlist(scorer.model.cfg.tgt_vocab_size)
    columns = Columns(shortlist.kept(src))
    found = beam_search(scorer.restricted(columns.ids), src, options=BEAM)
    sentences = [row[row.ne(0)][:-1].tolist() for row in src]  # without eos and padding
    pairs = [(i, columns.tokens(h.tokens), h.score) for i, hyps in enumerate(found) for h in hyps]
    assert len(pairs) == len(src) * BEAM.nbest
    per_token = pair_log_probabilities(
        [scorer.model], [sentences[i] for i, _, _ in pairs], [ids for _, ids, _ in pairs],
        max_batch_tokens=10_000, shortlist=shortlist,
    )  # fmt: skip
    recomputed = [float(t.sum()) / length_penalty(len(t), BEAM.alpha) for t in per_token]
    assert recomputed == pytest.approx([score for _, _, score in pairs], abs=1e-4)


def test_renormalized_over_the_kept_ids_a_translation_is_more_probable(model_dir: Path) -> None:
    loaded = load_model_dir(model_dir)
    narrow = Translator(loaded, shortlist=narrow_shortlist(loaded.model.cfg.tgt_vocab_size))
    text = narrow.translate(SENTENCES[:1], options=BEAM)[0]
    whole = Translator(load_model_dir(model_dir))
    assert (
        narrow.score(SENTENCES[:1], [text])[0].log_prob
        > whole.score(SENTENCES[:1], [text])[0].log_prob
    )


@pytest.mark.parametrize("precision", ["fp32", "int8"])
@pytest.mark.parametrize(
    "options",
    [
        BEAM,
        DecodingOptions(beam_size=1, max_len_a=0, max_len_b=8),
        DecodingOptions(max_len_a=0, max_len_b=8, sampling=Sampling(seed=3)),
    ],
    ids=["beam", "greedy", "sampling"],
)
def test_a_shortlist_of_every_id_changes_nothing(
    model_dir: Path, precision: str, options: DecodingOptions
) -> None:
    vocab = load_model_dir(model_dir).model.cfg.tgt_vocab_size
    whole = Translator(load_model_dir(model_dir), precision=precision)
    listed = Translator(load_model_dir(model_dir), precision=precision, shortlist=everything(vocab))
    expected = whole.translate_nbest(SENTENCES, options=options)
    found = listed.translate_nbest(SENTENCES, options=options)
    assert [[c.text for c in s] for s in found] == [[c.text for c in s] for s in expected]
    for ours, theirs in zip(found, expected, strict=True):
        for mine, other in zip(ours, theirs, strict=True):
            assert mine.score == pytest.approx(other.score, abs=1e-4)


def test_prefixes_and_constraints_keep_their_tokens(model_dir: Path) -> None:
    loaded = load_model_dir(model_dir)
    nothing = Shortlist(torch.full((loaded.model.cfg.tgt_vocab_size, 1), -1), torch.arange(0))
    translator = Translator(loaded, shortlist=nothing)  # keeps only the special ids
    prefix, phrase = "کتاب", "خانه"
    options = DecodingOptions(beam_size=3, max_len_a=0, max_len_b=12)
    forced = translator.translate(SENTENCES[:2], options=options, prefixes=[prefix, ""])
    assert forced[0].startswith(prefix)
    assert set(forced[1].split()) <= {"⁇"}  # only the special ids are kept: unk or eos
    constrained = translator.translate(SENTENCES[:1], options=options, constraints=[[phrase]])
    assert phrase in constrained[0]


def test_an_ensemble_and_a_fused_language_model_follow_the_shortlist() -> None:
    tm, lm = translation_model(), language_model()
    src = sources()
    ids = narrow_shortlist(tm.model.cfg.tgt_vocab_size).kept(src)
    alone = beam_search(tm.restricted(ids), src, options=BEAM)
    twice = ensemble([tm, tm], [0.5, 0.5]).restricted(ids)
    assert [[h.tokens for h in s] for s in beam_search(twice, src, options=BEAM)] == [
        [h.tokens for h in s] for s in alone
    ]
    log_probs, _ = fused(tm, lm, weight=0.3).restricted(ids).start(src, reserve=4)
    tm_log_probs, _ = tm.restricted(ids).start(src, reserve=4)
    lm_log_probs, _ = lm.restricted(ids).start(src, reserve=4)
    torch.testing.assert_close(log_probs, tm_log_probs + 0.3 * lm_log_probs)


def test_columns_map_ids_both_ways() -> None:
    columns = Columns(torch.tensor([0, 1, 2, 3, 10, 20, 30]))
    assert columns.of([20, 3, 10]) == [5, 3, 4]
    assert columns.tokens([5, 3, 4]) == [20, 3, 10]
    with pytest.raises(ValueError, match="not all kept"):
        columns.of([11])
    with pytest.raises(ValueError, match="special ids"):
        Columns(torch.tensor([0, 2, 3, 10]))
