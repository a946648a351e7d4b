"""Rules: small functions of the search state that edit the next token's combined scores
(transformers' ``LogitsProcessor``): the minimum length, the length limit, a forced prefix.
Every search (greedy, beam, sampling) applies its rules in order, each step."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from seq2seq.common.special import EOS_ID, NEVER_OUTPUT
from seq2seq.inference.search.state import SearchState


class Rule(Protocol):
    def __call__(self, log_probs: Tensor, state: SearchState) -> Tensor:
        """(rows, vocab) scores of each row's next token -> the same, edited (-inf: not
        allowed)."""
        ...


def never_pad_or_bos(log_probs: Tensor, state: SearchState) -> Tensor:
    """Padding and bos are never output: a trained model gives them next to nothing, and an
    imported Marian model, whose decoder starts from its padding token, would give them what
    its own search forbids (fairseq never selects padding either)."""
    for token in NEVER_OUTPUT:
        log_probs[:, token] = -math.inf
    return log_probs


@dataclass(frozen=True)
class MinLength:
    """No end of sentence before ``tokens`` tokens."""

    tokens: int

    def __call__(self, log_probs: Tensor, state: SearchState) -> Tensor:
        if state.step < self.tokens:
            log_probs[:, EOS_ID] = -math.inf
        return log_probs


class LengthLimit:
    """At its length limit a sentence can only end."""

    def __init__(self, limits: Tensor) -> None:
        """``limits``: (batch,) long, the most tokens (eos excluded) of each output."""
        self.limits = limits
        self.first = int(limits.min())  # no step before it needs a look

    def __call__(self, log_probs: Tensor, state: SearchState) -> Tensor:
        if state.step < self.first:
            return log_probs
        at_limit = self.limits.index_select(0, state.sentences) <= state.step
        if not bool(at_limit.any()):
            return log_probs
        only_eos = torch.full_like(log_probs, -math.inf)
        only_eos[:, EOS_ID] = log_probs[:, EOS_ID]
        return torch.where(at_limit[:, None], only_eos, log_probs)


def apply(rules: Sequence[Rule], log_probs: Tensor, state: SearchState) -> Tensor:
    """``log_probs`` through each rule in turn."""
    for rule in rules:
        log_probs = rule(log_probs, state)
    return log_probs
