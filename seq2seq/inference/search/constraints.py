"""Lexically constrained beam search: target phrases that every output must contain, by
dynamic beam allocation (Post & Vilar 2018, "Fast Lexically Constrained Decoding with Dynamic
Beam Allocation for Neural Machine Translation").

Each hypothesis carries how far it is through its sentence's phrases. Each step considers, as
well as the best continuations overall, every continuation that makes progress on a phrase
and each hypothesis's own best one; the beam is then shared out among the "banks" of
candidates that have met the same number of constraint tokens, the fullest bank first, so
that hypotheses on their way to meeting every phrase always keep a place. A hypothesis may
end only once it has met them all (or at the sentence's length limit, where nothing else can
be done).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace

from torch import Tensor

from seq2seq.common.special import EOS_ID

Candidate = tuple[float, int, int]  # (score, beam, token), as beam search ranks them


@dataclass(frozen=True)
class Progress:
    """A hypothesis's progress through its sentence's phrases.

    Attributes:
        met: the phrases it has produced whole.
        current: the phrase it is in the middle of, or None.
        done: tokens of ``current`` produced so far.
    """

    met: frozenset[int] = frozenset()
    current: int | None = None
    done: int = 0


@dataclass(frozen=True)
class SentenceConstraints:
    """The target phrases (token ids) one sentence's output must contain."""

    phrases: tuple[tuple[int, ...], ...]

    @property
    def tokens(self) -> int:
        """The tokens of all phrases: the most a hypothesis can meet."""
        return sum(map(len, self.phrases))

    def met_tokens(self, progress: Progress) -> int:
        """The constraint tokens ``progress`` has met (its bank)."""
        return sum(len(self.phrases[i]) for i in progress.met) + progress.done

    def satisfied(self, progress: Progress) -> bool:
        return len(progress.met) == len(self.phrases)

    def met_by(self, tokens: list[int]) -> bool:
        """Whether ``tokens`` contain every phrase, as search tracks them."""
        progress = Progress()
        for token in tokens:
            progress = self.advance(progress, token)
        return self.satisfied(progress)

    def next_tokens(self, progress: Progress) -> set[int]:
        """The tokens that make progress: the next of the current phrase, or the first of
        any phrase not yet met."""
        if progress.current is not None:
            return {self.phrases[progress.current][progress.done]}
        return {p[0] for i, p in enumerate(self.phrases) if i not in progress.met}

    def advance(self, progress: Progress, token: int) -> Progress:
        """The progress after ``token``: the current phrase goes on, is met, or is broken off
        (and ``token`` may start another)."""
        if progress.current is not None:
            phrase = self.phrases[progress.current]
            if token == phrase[progress.done]:
                if progress.done + 1 == len(phrase):
                    return Progress(progress.met | {progress.current})
                return replace(progress, done=progress.done + 1)
            progress = Progress(progress.met)
        for index, phrase in enumerate(self.phrases):
            if index not in progress.met and phrase[0] == token:
                if len(phrase) == 1:
                    return Progress(progress.met | {index})
                return Progress(progress.met, index, 1)
        return progress


def constrained_candidates(
    scores: Tensor,
    progress: list[Progress],
    constraints: SentenceConstraints,
    *,
    k: int,
    at_limit: bool,
) -> list[Candidate]:
    """One sentence's candidates, best first: the 2k best continuations of its beams, each
    beam's continuations that make progress and its own best one. Ending (eos) is a
    candidate only for a beam that has met every phrase, or at the length limit.

    Args:
        scores: (width, vocab) float, each beam's score plus each next token's
            log-probability (-inf for what may not come next).
        progress: each beam's.
    """
    scores = scores.clone()
    for beam, state in enumerate(progress):
        if not (at_limit or constraints.satisfied(state)):
            scores[beam, EOS_ID] = -math.inf
    vocab = scores.size(1)
    flat = scores.view(-1)
    best = flat.topk(min(2 * k, flat.numel()))
    wanted = {divmod(i, vocab) for i in best.indices.tolist()}
    wanted |= {(beam, int(token)) for beam, token in enumerate(scores.argmax(1).tolist())}
    for beam, state in enumerate(progress):
        wanted |= {(beam, token) for token in constraints.next_tokens(state)}
    found = [(float(scores[beam, token]), beam, token) for beam, token in wanted]
    return sorted((c for c in found if c[0] > -math.inf), key=lambda c: (-c[0], c[1], c[2]))


def allocate(
    candidates: list[Candidate],
    progress: list[Progress],
    constraints: SentenceConstraints,
    *,
    k: int,
) -> list[Candidate]:
    """Up to ``k`` of ``candidates`` (best first, none ending), shared among the banks of
    equal met constraint tokens: one at a time to each bank in turn, the fullest bank first,
    each taking its best remaining candidate. Returned best first."""
    banks: dict[int, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        _, beam, token = candidate
        met = constraints.met_tokens(constraints.advance(progress[beam], token))
        banks[met].append(candidate)
    queues = [banks[met] for met in sorted(banks, reverse=True)]
    chosen: list[Candidate] = []
    while len(chosen) < k and any(queues):
        for queue in queues:
            if queue and len(chosen) < k:
                chosen.append(queue.pop(0))
    return sorted(chosen, key=lambda c: (-c[0], c[1], c[2]))
