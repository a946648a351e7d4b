"""One call for every search: greedy, beam or sampling, as the decoding options say."""

from __future__ import annotations

import torch
from torch import Tensor

from seq2seq.inference.beam import Hypothesis, beam_search
from seq2seq.inference.constraints import SentenceConstraints
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.prefix import Prefixes
from seq2seq.inference.search import greedy_search, sample
from seq2seq.model import DecoderOnlyTransformer, Model


def decode(
    model: Model,
    src_tokens: Tensor,
    options: DecodingOptions,
    *,
    generator: torch.Generator | None = None,
    lm: DecoderOnlyTransformer | None = None,
    lm_weight: float = 0.0,
    prefixes: Prefixes | None = None,
    constraints: list[SentenceConstraints | None] | None = None,
) -> list[list[Hypothesis]]:
    """Up to ``options.nbest`` hypotheses per sentence, best first.

    Args:
        model: an encoder-decoder, or a decoder-only translation model (its source read as
            a prompt: ``seq2seq.inference.prompt``).
        src_tokens: (batch, src_len) long, padded with 0, each ending with eos.
        options: sampling when ``options.sampling`` is set, else greedy search for
            ``beam_size`` 1 and beam search above.
        generator: the random numbers of sampling (seeded for reproducible samples).
        lm: a target-side language model fused into beam search with ``lm_weight``
            (``beam_search``); with it, ``beam_size`` 1 is a beam of one, not greedy search.
        prefixes: the tokens each sentence's outputs begin with (forced), or None.
        constraints: per sentence, phrases its outputs must contain (constrained beam
            search; ``beam_size`` 1 is then a beam of one), or None.

    Returns:
        Per sentence, its hypotheses: beam search scores them (length-normalized
        log-probability); greedy search and sampling give one, with score None.
    """
    if lm is not None or constraints is not None:
        if options.sampling is not None:
            raise ValueError("fusion and constraints are for beam search, not for sampling")
        return beam_search(
            model, src_tokens, options=options, lm=lm, lm_weight=lm_weight, prefixes=prefixes,
            constraints=constraints,
        )  # fmt: skip
    if options.sampling is not None:
        drawn = sample(model, src_tokens, options=options, generator=generator, prefixes=prefixes)
        return [[Hypothesis(tokens, None)] for tokens in drawn]
    if options.beam_size == 1:
        found = greedy_search(model, src_tokens, options=options, prefixes=prefixes)
        return [[Hypothesis(tokens, None)] for tokens in found]
    return beam_search(model, src_tokens, options=options, prefixes=prefixes)
