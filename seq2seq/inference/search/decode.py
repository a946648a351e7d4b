"""One call for every search: greedy, beam or sampling, as the decoding options say."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.search.beam import beam_search
from seq2seq.inference.search.hypothesis import Hypothesis
from seq2seq.inference.search.rules import Rule
from seq2seq.inference.search.scorers import Scorer
from seq2seq.inference.search.selectors import TOP, Selector
from seq2seq.inference.search.stepwise import drawing, most_probable, one_token_a_step


def decode(
    scorer: Scorer,
    src_tokens: Tensor,
    options: DecodingOptions,
    *,
    rules: Sequence[Rule] = (),
    selector: Selector | None = None,
    limits: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> list[list[Hypothesis]]:
    """Up to ``options.nbest`` hypotheses per sentence, best first.

    Args:
        scorer: a model (``ModelScorer``), an ensemble, a fused language model.
        src_tokens: (batch, src_len) long, padded with 0, each ending with eos.
        options: sampling when ``options.sampling`` is set, else greedy search for
            ``beam_size`` 1 and beam search above.
        rules: edit the scores each step (a forced prefix).
        selector: beam search's choice of candidates (constraints); with one, ``beam_size``
            1 is a beam of one, not greedy search.
        limits: (batch,) long, each output's most tokens; None: from ``options``.
        generator: the random numbers of sampling (seeded for reproducible samples).

    Returns:
        Per sentence, its hypotheses: beam search scores them (length-normalized
        log-probability); greedy search and sampling give one, with score None.
    """
    if selector is not None and options.sampling is not None:
        raise ValueError("a selector (constraints) is for beam search, not for sampling")
    if selector is not None or (options.beam_size > 1 and options.sampling is None):
        return beam_search(
            scorer, src_tokens, options=options, rules=rules,
            selector=selector or TOP, limits=limits,
        )  # fmt: skip
    choose = most_probable
    if options.sampling is not None:
        choose = drawing(options.sampling, generator=generator)
    found = one_token_a_step(
        scorer, src_tokens, choose=choose, options=options, rules=rules, limits=limits
    )
    return [[Hypothesis(tokens, None)] for tokens in found]
