"""What the import tests do to the small transformers models they build."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.translator import Translator


def strong_cross_attention(model: nn.Module) -> None:
    """Random weights, in place, under which a small model's outputs differ by sentence:
    the default init makes random models repeat one token whatever the source."""
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            embedding = "shared" in name or "embed_tokens" in name
            parameter.normal_(0, 0.1 if embedding else 2.0 if "encoder_attn." in name else 0.2)
            if "layer_norm.weight" in name:
                parameter.fill_(1.0)


class OnlyEosAtTheLimit:
    """Our end at the length limit, and fairseq's, as a logits processor for ``generate``:
    eos keeps its log-probability, where transformers' forced eos gives it 0.

    Args:
        limit: output tokens before only eos is left.
        before: tokens the decoder reads before its output (its start; and a forced language
            token).
    """

    def __init__(self, limit: int, eos: int, *, before: int = 1) -> None:
        self.limit, self.eos, self.before = limit, eos, before

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if input_ids.size(1) - self.before < self.limit:
            return scores
        only_eos = torch.full_like(scores, -math.inf)
        only_eos[:, self.eos] = scores[:, self.eos]
        return only_eos


def assert_we_translate(
    texts: list[str], model_dir: Path, expected: list[str], *, beam: int, limit: int,
    direction: tuple[str | None, str | None] = (None, None),
) -> None:  # fmt: skip
    """Our translations of ``texts`` with the imported ``model_dir`` (in ``direction``: the
    source and target languages, None: the model's) are ``expected`` (what ``generate``
    gave), searching as it did: ``beam``, at most ``limit`` tokens, no length penalty; and
    they differ by sentence, so that the comparison says something."""
    options = DecodingOptions(beam_size=beam, alpha=0.0, max_len_a=0, max_len_b=limit)
    translator = Translator.load(model_dir).directed(*direction)
    found = translator.translate(texts, options=options)
    assert found == expected
    assert len(set(found)) > 1
