"""Attention maps of one sentence pair: shapes, labels and probabilities."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.testing import assert_close

from seq2seq.analysis.attention import sentence_attention
from seq2seq.analysis.plot import cross_attention_figure, display_label
from seq2seq.modeldir.format import load_model_dir


def test_every_map_relates_the_tokens_it_is_labelled_with(model_dir: Path) -> None:
    loaded = load_model_dir(model_dir)
    attention = sentence_attention(loaded, "the three red books", "سه کتاب قرمز")
    src, tgt = len(attention.src_tokens), len(attention.tgt_tokens)
    assert attention.src_tokens[-1] == "</s>" and attention.tgt_tokens[0] == "<s>"
    heads, layers = loaded.model.cfg.n_heads, loaded.model.cfg.decoder_layers
    assert [m.shape for m in attention.cross] == [(heads, tgt, src)] * layers
    assert [m.shape for m in attention.decoder_self] == [(heads, tgt, tgt)] * layers
    assert attention.encoder_self[0].shape == (heads, src, src)
    for probs in attention.cross + attention.decoder_self + attention.encoder_self:
        assert_close(probs.sum(-1), torch.ones(probs.shape[:-1]))
    assert torch.all(attention.decoder_self[0].triu(1) == 0)  # the look-ahead mask


def test_target_tokens_are_the_model_pieces_of_the_normalized_target(model_dir: Path) -> None:
    loaded = load_model_dir(model_dir)
    attention = sentence_attention(loaded, "red book", "كتاب")  # Arabic kaf: normalized to ک
    (ids,) = loaded.tgt_tokenizer.encode([loaded.tgt_normalizer("كتاب")])
    assert attention.tgt_tokens[1:] == loaded.tgt_tokenizer.pieces(ids)
    assert "ک" in "".join(attention.tgt_tokens) and "ك" not in "".join(attention.tgt_tokens)


def test_cross_attention_rows_are_labelled_with_the_token_they_predict(model_dir: Path) -> None:
    attention = sentence_attention(load_model_dir(model_dir), "red book", "کتاب قرمز")
    figure = cross_attention_figure(attention)
    rows = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert rows == [display_label(t) for t in [*attention.tgt_tokens[1:], "</s>"]]
    assert len(figure.axes) == len(attention.cross)
