"""Batched beam search over ``first_step`` and ``DecoderCache`` (fairseq's and OpenNMT's design),
for either architecture.

Each step scores every live beam's continuations, keeps the best ``beam_size`` that do not end
and moves those that end into the sentence's finished list, scored with the GNMT length
penalty ((5 + len) / 6) ^ alpha. A sentence is done once no live beam can beat its best
finished hypothesis, or at its length limit; done sentences leave the batch, so the cache
shrinks with them. The cache is reordered by beam index in one place, ``DecoderCache.reorder``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import torch
from torch import Tensor

from seq2seq.common.special import BOS_ID, EOS_ID
from seq2seq.inference.constraints import (
    Candidate,
    Progress,
    SentenceConstraints,
    allocate,
    constrained_candidates,
)
from seq2seq.inference.fusion import ShallowFusion
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.prefix import Prefixes
from seq2seq.inference.prompt import first_step
from seq2seq.inference.search import max_lengths
from seq2seq.model import DecoderOnlyTransformer, Model


def length_penalty(length: int, alpha: float) -> float:
    """GNMT's lp(Y) = ((5 + |Y|) / 6) ^ alpha (Wu et al. 2016); 1 when alpha is 0."""
    return ((5 + length) / 6) ** alpha


@dataclass
class Hypothesis:
    tokens: list[int]
    # log-probability / length_penalty(len(tokens) + 1, alpha); None from greedy or sampling
    score: float | None


@dataclass
class _Sentence:
    """Search state of one source sentence."""

    max_len: int
    finished: list[Hypothesis] = field(default_factory=list)

    def best_finished(self) -> float:
        return max((h.score for h in self.finished), default=-math.inf)


@torch.no_grad()
def beam_search(
    model: Model,
    src_tokens: Tensor,
    *,
    options: DecodingOptions,
    lm: DecoderOnlyTransformer | None = None,
    lm_weight: float = 0.0,
    prefixes: Prefixes | None = None,
    constraints: list[SentenceConstraints | None] | None = None,
) -> list[list[Hypothesis]]:
    """The ``options.nbest`` best translations of each sentence, best first.

    Args:
        src_tokens: (batch, src_len) long, padded with 0, each ending with eos.
        options: ``beam_size`` hypotheses kept alive per sentence, the length penalty
            ``alpha``, the length limits and ``nbest``.
        lm: a language model of the target vocabulary, fused with weight ``lm_weight``
            (``ShallowFusion``): scores are then log p_TM + lm_weight * log p_LM.
        prefixes: the tokens each sentence's hypotheses begin with (forced, scored at their
            probability), or None.
        constraints: per sentence, the phrases its hypotheses must contain (dynamic beam
            allocation: ``seq2seq.inference.constraints``), or None.
    """
    beam_size, alpha, nbest = options.beam_size, options.alpha, options.nbest
    batch, k, device = src_tokens.size(0), beam_size, src_tokens.device
    limits = max_lengths(src_tokens, options, model=model, prefixes=prefixes)
    sentences = [_Sentence(max_len=int(n)) for n in limits]
    live = list(range(batch))  # sentence index of each live group of k rows
    scores = torch.zeros(batch, 1, device=device)  # the first step: a row per sentence, then k
    tokens = torch.full((batch, 1), BOS_ID, dtype=torch.long, device=device)
    reserve = k * int(limits.max())  # self-attention entries after the first step: k a step
    # One row per sentence: its k beams share the encoder output (or the prompt's entries).
    logits, cache = first_step(model, src_tokens, reserve=reserve)
    progress = [Progress()] * batch  # each row's through its sentence's constraints
    fusion = None
    if lm is not None:
        fusion = ShallowFusion.start(lm, rows=batch, weight=lm_weight, reserve=1 + reserve)
    for step in range(int(limits.max()) + 1):
        log_probs = logits.float().log_softmax(-1)
        if fusion is not None:
            log_probs, fusion = fusion.add(log_probs, tokens[:, -1:])
        width = scores.size(1)  # rows per live sentence
        if prefixes is not None:
            sentence_of_row = torch.tensor(live, device=device).repeat_interleave(width)
            log_probs = prefixes.force(log_probs, step=step, sentences=sentence_of_row)
        log_probs = log_probs.view(len(live), width, -1)
        if step < options.min_len:
            log_probs[:, :, EOS_ID] = -math.inf
        at_limit = torch.tensor([sentences[i].max_len <= step for i in live], device=device)
        if bool(at_limit.any()):  # at its length limit a sentence can only end
            eos_log_probs = log_probs[at_limit, :, EOS_ID]
            log_probs[at_limit] = -math.inf
            log_probs[at_limit, :, EOS_ID] = eos_log_probs
        candidates = log_probs.add_(scores[:, :, None]).view(len(live), -1)
        top_scores, top_ids = candidates.topk(min(2 * k, candidates.size(1)), dim=1)
        keep_rows, keep_scores, keep_tokens, still_live = [], [], [], []
        vocab = log_probs.size(-1)
        all_scores, all_ids = top_scores.tolist(), top_ids.tolist()
        kept_progress: list[Progress] = []
        for group, sentence_index in enumerate(live):
            candidates_of_group = [
                (score, *divmod(flat, vocab))
                for score, flat in zip(all_scores[group], all_ids[group], strict=True)
            ]
            wanted = constraints[sentence_index] if constraints is not None else None
            pick = None
            if wanted is not None:
                mine = progress[group * width : (group + 1) * width]
                candidates_of_group = constrained_candidates(
                    candidates[group].view(width, vocab), mine, wanted,
                    k=k, at_limit=bool(at_limit[group]),
                )  # fmt: skip
                pick = partial(allocate, progress=mine, constraints=wanted, k=k)
            chosen = _advance(
                sentences[sentence_index], candidates_of_group,
                lambda beam, row=group * width, history=tokens: history[row + beam, 1:].tolist(),
                step=step, k=k, alpha=alpha, nbest=nbest, pick=pick,
            )  # fmt: skip
            if chosen is None:
                continue
            still_live.append(sentence_index)
            keep_rows += [group * width + beam for _, beam, _ in chosen]
            keep_scores.append([score for score, _, _ in chosen])
            keep_tokens += [token for _, _, token in chosen]
            if wanted is not None:
                kept_progress += [wanted.advance(mine[beam], token) for _, beam, token in chosen]
            elif constraints is not None:  # without constraints no row's progress is kept
                kept_progress += [Progress()] * len(chosen)
        if not still_live:
            break
        rows = torch.tensor(keep_rows, device=device)
        cache = cache.reorder(rows)
        if fusion is not None:
            fusion = fusion.reorder(rows)
        tokens = torch.cat([tokens[rows], torch.tensor(keep_tokens, device=device)[:, None]], 1)
        scores = torch.tensor(keep_scores, device=device)
        live, progress = still_live, kept_progress
        logits, cache = cache.step(tokens[:, -1:])
    wanted = constraints or [None] * batch
    return [_best(s.finished, c, nbest=nbest) for s, c in zip(sentences, wanted, strict=True)]


def _best(
    finished: list[Hypothesis], constraints: SentenceConstraints | None, *, nbest: int
) -> list[Hypothesis]:
    """The ``nbest`` best hypotheses; with constraints, those that meet them all first (the
    others could only end at the length limit)."""
    if constraints is None:
        return sorted(finished, key=lambda h: -h.score)[:nbest]
    return sorted(finished, key=lambda h: (not constraints.met_by(h.tokens), -h.score))[:nbest]


def _advance(
    sentence: _Sentence,
    candidates: list[tuple[float, int, int]],
    prefix: Callable[[int], list[int]],
    *,
    step: int,
    k: int,
    alpha: float,
    nbest: int,
    pick: Callable[[list[Candidate]], list[Candidate]] | None = None,
) -> list[Candidate] | None:
    """One sentence's step: file finished candidates, return the k beams that go on.

    Args:
        candidates: (score, beam, token), best first.
        prefix: the tokens of a beam so far (bos excluded), read only for finished ones.
        pick: chooses up to k of the candidates that go on (best first); None: the k best.

    Returns:
        k (score, beam, token) to keep, or None when the sentence is done.
    """
    going = []
    for score, beam, token in candidates:
        if score == -math.inf:
            continue
        if token == EOS_ID:
            tokens = prefix(beam)
            lp = length_penalty(len(tokens) + 1, alpha)
            sentence.finished.append(Hypothesis(tokens, score / lp))
        else:
            going.append((score, beam, token))
    chosen = going[:k] if pick is None else pick(going)
    if step >= sentence.max_len or not chosen:
        return None
    # The best a live beam can still reach: its score so far under the largest penalty.
    bound = chosen[0][0] / length_penalty(sentence.max_len + 1, alpha)
    if len(sentence.finished) >= nbest and sentence.best_finished() >= bound:
        return None
    return chosen + [(-math.inf, 0, EOS_ID)] * (k - len(chosen))
