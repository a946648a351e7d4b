"""The model presets in conf/model/ compose and build the architectures they claim."""

from __future__ import annotations

import pytest
import torch

from seq2seq.model import DecoderOnlyTransformer, Transformer
from seq2seq.training.presets import load_model_config, model_presets


def test_all_presets_exist() -> None:
    assert model_presets() == [
        "lm_small",
        "lm_tiny",
        "transformer_base",
        "transformer_big",
        "transformer_small",
        "transformer_tiny",
    ]


@pytest.mark.parametrize("preset", ["transformer_tiny", "transformer_small"])
def test_small_presets_build_and_run(preset: str) -> None:
    cfg = load_model_config(preset, src_vocab_size=100, tgt_vocab_size=100)
    model = Transformer(cfg)
    tokens = torch.randint(4, 100, (2, 5))
    assert model(tokens, tokens).shape == (2, 5, 100)


def test_base_and_big_are_the_papers_table_3() -> None:
    base = load_model_config("transformer_base", src_vocab_size=8, tgt_vocab_size=8)
    big = load_model_config("transformer_big", src_vocab_size=8, tgt_vocab_size=8)
    paper_base = (6, 6, 512, 8, 2048, 0.1)
    paper_big = (6, 6, 1024, 16, 4096, 0.3)
    for cfg, expected in ((base, paper_base), (big, paper_big)):
        shape = (cfg.encoder_layers, cfg.decoder_layers, cfg.d_model, cfg.n_heads, cfg.ffn_dim)
        assert (*shape, cfg.dropout) == expected
        assert not cfg.pre_norm and not cfg.learned_positions and cfg.share_embeddings


@pytest.mark.parametrize(
    ("preset", "parameters", "per_entry"),
    [("lm_tiny", 793_088, 128), ("lm_small", 9_477_120, 256)],
)
def test_language_model_presets_have_their_documented_size(
    preset: str, parameters: int, per_entry: int
) -> None:
    """The counts in the presets' comments, for two vocabulary sizes."""
    for vocab in (100, 4000):
        cfg = load_model_config(preset, src_vocab_size=vocab, tgt_vocab_size=vocab)
        model = DecoderOnlyTransformer(cfg)
        assert sum(p.numel() for p in model.parameters()) == parameters + per_entry * vocab
        assert model(torch.randint(4, vocab, (2, 5))).shape == (2, 5, vocab)


def test_every_preset_is_the_same_architecture() -> None:
    configs = [load_model_config(p, src_vocab_size=8, tgt_vocab_size=8) for p in model_presets()]
    assert {(c.pre_norm, c.learned_positions, c.tie_output_embeddings) for c in configs} == {
        (False, False, True)
    }


def test_unknown_preset_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="transformer_tiny"):
        load_model_config("transformer_huge", src_vocab_size=8, tgt_vocab_size=8)
