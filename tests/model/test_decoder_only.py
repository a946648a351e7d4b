"""The decoder alone (a GPT-style language model): causal, tied, no cross-attention."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch.testing import assert_close

from seq2seq.model import DecoderOnlyTransformer, Transformer, TransformerConfig
from tests.model.helpers import TINY, pad_to, random_tokens, tiny_decoder_only


def test_logits_for_every_position() -> None:
    model = tiny_decoder_only()
    tokens = random_tokens(3, 7)
    assert model(tokens).shape == (3, 7, TINY.tgt_vocab_size)
    select = torch.rand(3, 7) < 0.5
    assert_close(model(tokens, select=select), model(tokens)[select])


def test_changing_token_t_changes_no_output_before_t() -> None:
    model = tiny_decoder_only()
    tokens = random_tokens(2, 8)
    before = model(tokens)
    for t in range(1, 8):
        changed = tokens.clone()
        changed[:, t] = (changed[:, t] - 4 + 1) % (TINY.tgt_vocab_size - 4) + 4
        after = model(changed)
        assert_close(after[:, :t], before[:, :t])
        assert not torch.allclose(after[:, t], before[:, t])


def test_padded_batch_equals_each_sequence_alone() -> None:
    model = tiny_decoder_only()
    sequences = [random_tokens(1, n)[0] for n in (5, 2, 7)]
    batched = model(pad_to(sequences, 7))
    for row, sequence in enumerate(sequences):
        assert_close(batched[row, : sequence.numel()], model(sequence[None])[0])


def test_self_attention_maps_are_causal_and_there_is_no_cross_attention() -> None:
    model = tiny_decoder_only()
    tokens = random_tokens(2, 6)
    logits, maps = model.forward_with_attention(tokens)
    assert_close(logits, model(tokens))
    assert maps.cross == [] and maps.encoder_self == []
    assert len(maps.decoder_self) == TINY.decoder_layers
    for probs in maps.decoder_self:
        assert (probs.triu(1) == 0).all()
        assert_close(probs.sum(-1), torch.ones(2, TINY.n_heads, 6))
    assert all(layer.cross_attn is None for layer in model.decoder.layers)


def test_output_projection_is_the_input_embedding() -> None:
    model = tiny_decoder_only()
    assert model.decoder.output_proj.weight is model.decoder.embed.tokens.weight


def decoder_only_parameters(cfg: TransformerConfig) -> int:
    """Embedding V*d (tied output) and per layer: self-attention 4(d^2 + d), the FFN
    2*d*f + f + d and two LayerNorms 2*2d (post-LN: no final norm)."""
    d, f = cfg.d_model, cfg.ffn_dim
    return cfg.tgt_vocab_size * d + cfg.decoder_layers * (
        4 * (d * d + d) + 2 * d * f + f + d + 4 * d
    )


def test_parameter_count_is_the_decoder_without_cross_attention() -> None:
    model = tiny_decoder_only()
    assert sum(p.numel() for p in model.parameters()) == decoder_only_parameters(model.cfg)


def test_gradients_reach_every_parameter() -> None:
    model = tiny_decoder_only(learned_positions=True)
    model(random_tokens(2, 5)).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_each_class_refuses_the_other_ones_configuration() -> None:
    with pytest.raises(ValueError, match="DecoderOnlyTransformer"):
        Transformer(replace(TINY, encoder_layers=0))
    with pytest.raises(ValueError, match="encoder_layers=0"):
        DecoderOnlyTransformer(TINY)
    with pytest.raises(ValueError, match="one vocabulary"):
        replace(TINY, encoder_layers=0, share_embeddings=False, tgt_vocab_size=31)
    with pytest.raises(ValueError, match="decoder_layers >= 1"):
        replace(TINY, decoder_layers=0)
