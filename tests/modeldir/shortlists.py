"""Shortlists for tests: random lists that change what a random model says."""

from __future__ import annotations

import torch

from seq2seq.common.special import SPECIAL_IDS
from seq2seq.modeldir.format import LoadedModel
from seq2seq.modeldir.shortlist import Shortlist


def random_shortlist(loaded: LoadedModel, *, k: int, frequent: int, seed: int = 0) -> Shortlist:
    """k random target ids per source id (some rows shorter, padded with -1), and
    ``frequent`` ids always kept: a list that changes what a random model says."""
    generator = torch.Generator().manual_seed(seed)
    src, tgt = loaded.src_tokenizer.vocab_size, loaded.tgt_tokenizer.vocab_size
    lists = torch.randint(SPECIAL_IDS, tgt, (src, k), generator=generator)
    lists[::3, k // 2 :] = -1
    return Shortlist(lists, torch.randperm(tgt, generator=generator)[:frequent])
