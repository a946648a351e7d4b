"""Word alignment from cross-attention: which source word each target word was translated from.

The pair is teacher-forced (``sentence_attention``); the attention that predicted each target
subword, averaged over heads and layers, is summed over the subwords of each source word and
averaged over those of each target word; each target word is aligned to the source word it
attends to most. Words are those of ``seq2seq.data.inline.word_spans``. A subword is placed in
its text by finding it after the previous one; where normalization changed the text so that it
is not found, by its position.
"""

from __future__ import annotations

import torch

from seq2seq.analysis.attention import sentence_attention
from seq2seq.data.inline import word_spans
from seq2seq.modeldir.format import LoadedModel


def word_alignment(loaded: LoadedModel, source: str, target: str) -> list[int | None]:
    """Per word of ``target``, the index of the word of ``source`` aligned to it (None for a
    word none of whose subwords the model saw, e.g. past its length limit)."""
    maps = sentence_attention(loaded, source, target)
    source_pieces, target_pieces = maps.src_tokens[:-1], maps.tgt_tokens[1:]
    mean = torch.stack([layer.mean(0) for layer in maps.cross]).mean(0)  # (tgt_len, src_len)
    attention = mean[: len(target_pieces), : len(source_pieces)]  # row t predicts piece t
    source_words, target_words = word_spans(source), word_spans(target)
    by_source = _one_hot(_words_of(source_pieces, source), len(source_words))  # (pieces, words)
    by_target = _one_hot(_words_of(target_pieces, target), len(target_words))
    if not source_words:
        return [None] * len(target_words)
    seen = by_target.sum(0).tolist()  # subwords per target word
    scores = by_target.T @ attention.float() @ by_source  # (target words, source words)
    best = scores.argmax(1).tolist()
    return [i if n else None for i, n in zip(best, seen, strict=True)]


def _words_of(pieces: list[str], text: str) -> list[int | None]:
    """The index of the word (``word_spans``) of ``text`` where each subword starts."""
    spans = word_spans(text)
    found, position = [], 0
    for k, piece in enumerate(pieces):
        surface = piece.replace("▁", "")
        at = text.find(surface, position) if surface else -1
        if at < 0:
            at = len(text) * k // max(len(pieces), 1)  # not in the text as written
        else:
            position = at + len(surface)
        found.append(next((i for i, (_, end) in enumerate(spans) if at < end), None))
    return found


def _one_hot(indices: list[int | None], size: int) -> torch.Tensor:
    """(len(indices), size): row k has a 1 at ``indices[k]`` (none where it is None)."""
    matrix = torch.zeros(len(indices), size)
    for row, index in enumerate(indices):
        if index is not None:
            matrix[row, index] = 1.0
    return matrix
