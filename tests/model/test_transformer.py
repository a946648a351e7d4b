"""Whole-model behaviour: masks, positions, stepping over stored positions, tying and size."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from seq2seq.model import KeyValue, Transformer, TransformerConfig
from tests.model.helpers import BOS, EOS, TINY, pad_to, random_tokens, tiny_model


def test_forward_shapes() -> None:
    model = tiny_model()
    logits = model(random_tokens(3, 7), random_tokens(3, 5))
    assert logits.shape == (3, 5, TINY.tgt_vocab_size)


def test_selected_logits_are_the_rows_of_the_full_logits() -> None:
    model = tiny_model().eval()
    src, prev = random_tokens(3, 7), random_tokens(3, 5)
    select = torch.rand(3, 5) < 0.6
    assert_close(model(src, prev, select=select), model(src, prev)[select])


def test_changing_target_token_t_changes_no_output_before_t() -> None:
    model = tiny_model()
    src, prev = random_tokens(2, 6), random_tokens(2, 8)
    before = model(src, prev)
    for t in range(1, 8):
        changed = prev.clone()
        changed[:, t] = (changed[:, t] - 4 + 1) % (TINY.tgt_vocab_size - 4) + 4
        after = model(src, changed)
        assert_close(after[:, :t], before[:, :t])
        assert not torch.allclose(after[:, t], before[:, t])


def test_padded_batch_equals_each_sequence_alone() -> None:
    model = tiny_model()
    sources = [random_tokens(1, n)[0] for n in (5, 3, 7)]
    targets = [random_tokens(1, n)[0] for n in (4, 6, 2)]
    batched = model(pad_to(sources, 7), pad_to(targets, 6))
    for row, (source, target) in enumerate(zip(sources, targets, strict=True)):
        alone = model(source[None], target[None])[0]
        assert_close(batched[row, : target.numel()], alone)


def test_encoder_is_permutation_equivariant_only_without_positions() -> None:
    src = random_tokens(2, 6)
    permutation = torch.tensor([3, 0, 5, 1, 4, 2])
    no_positions = tiny_model(learned_positions=True)
    with torch.no_grad():
        no_positions.encoder.embed.positions.table.zero_()
    states = no_positions.encode(src).states
    assert_close(no_positions.encode(src[:, permutation]).states, states[:, permutation])

    sinusoidal = tiny_model()
    states = sinusoidal.encode(src).states
    assert not torch.allclose(sinusoidal.encode(src[:, permutation]).states, states[:, permutation])


def test_cross_attention_sums_to_one_over_source_and_is_zero_on_padding() -> None:
    model = tiny_model()
    src = pad_to([random_tokens(1, 6)[0], random_tokens(1, 2)[0]], 6)
    prev = random_tokens(2, 4)
    logits, maps = model.forward_with_attention(src, prev)
    assert_close(logits, model(src, prev))
    assert len(maps.cross) == TINY.decoder_layers
    for probs in maps.cross:
        assert probs.shape == (2, TINY.n_heads, 4, 6)
        assert_close(probs.sum(-1), torch.ones(2, TINY.n_heads, 4))
        assert (probs[1, :, :, 2:] == 0).all()
        assert (probs[0] > 0).all()
    for probs in maps.decoder_self:
        assert (probs.triu(1) == 0).all()
    assert [p.shape for p in maps.encoder_self] == [(2, TINY.n_heads, 6, 6)] * 2


@dataclass(frozen=True)
class Concatenated:
    """The textbook key/value cache: the stored entries with the new ones concatenated."""

    key: torch.Tensor
    value: torch.Tensor

    def append(self, new: KeyValue) -> Concatenated:
        return Concatenated(
            torch.cat([self.key, new.key], 2), torch.cat([self.value, new.value], 2)
        )


def empty_past(batch: int) -> list[Concatenated]:
    empty = torch.zeros(batch, TINY.n_heads, 0, TINY.head_dim)
    return [Concatenated(empty, empty)] * TINY.decoder_layers


def test_decoder_steps_over_stored_positions_equal_the_full_forward() -> None:
    """One position per step, then two at once under the look-ahead mask."""
    model = tiny_model()
    src = pad_to([random_tokens(1, 5)[0], random_tokens(1, 3)[0]], 5)
    prev = torch.cat([torch.full((2, 1), BOS), random_tokens(2, 4)], 1)
    memory = model.encode(src)
    cross, past, steps = model.decoder.project_memory(memory), empty_past(2), []
    step = partial(model.decoder.step, memory_mask=memory.key_mask)
    for t in range(3):
        logits, past = step(
            prev[:, t : t + 1], cross, past, positions=torch.tensor([t]), self_mask=None
        )
        steps.append(logits)
    look_ahead = torch.ones(2, 1, 2, 5, dtype=torch.bool)
    look_ahead[:, :, 0, 4] = False
    logits, past = step(
        prev[:, 3:], cross, past, positions=torch.tensor([3, 4]), self_mask=look_ahead
    )
    assert_close(torch.cat([*steps, logits], 1), model(src, prev))
    assert past[0].key.shape == (2, TINY.n_heads, 5, TINY.head_dim)


def test_new_tokens_at_one_position_that_cannot_see_each_other_are_alternatives() -> None:
    """Three new tokens all at position 2, each seeing the stored prefix and itself only,
    give the logits of the three prefixes that end in them (as beams of one sentence do)."""
    model = tiny_model()
    src, prev = random_tokens(1, 4), torch.cat([torch.full((1, 1), BOS), random_tokens(1, 1)], 1)
    memory = model.encode(src)
    cross = model.decoder.project_memory(memory)
    look_ahead = torch.ones(2, 2, dtype=torch.bool).tril()[None, None]
    _, past = model.decoder.step(
        prev, cross, empty_past(1), positions=torch.arange(2), memory_mask=None,
        self_mask=look_ahead,
    )  # fmt: skip
    alternatives = random_tokens(1, 3)
    own = torch.cat([torch.ones(3, 2, dtype=torch.bool), torch.eye(3, dtype=torch.bool)], 1)
    logits, _ = model.decoder.step(
        alternatives, cross, past, positions=torch.full((3,), 2),
        memory_mask=None, self_mask=own[None, None],
    )  # fmt: skip
    each = torch.cat([prev.expand(3, -1), alternatives.T], 1)
    assert_close(logits[0], model(src.expand(3, -1), each)[:, -1])


def test_shared_embeddings_are_one_tensor() -> None:
    model = tiny_model(share_embeddings=True)
    source = model.encoder.embed.tokens.weight
    assert model.decoder.embed.tokens.weight is source
    assert model.decoder.output_proj.weight is source
    assert len({p.data_ptr() for p in model.parameters()}) == len(list(model.parameters()))


def test_separate_vocabularies_get_separate_embeddings() -> None:
    model = tiny_model(share_embeddings=False, tgt_vocab_size=31)
    assert model.encoder.embed.tokens.weight is not model.decoder.embed.tokens.weight
    assert model.decoder.output_proj.weight is model.decoder.embed.tokens.weight
    assert model(random_tokens(1, 3), random_tokens(1, 2)).shape == (1, 2, 31)
    untied = tiny_model(tie_output_embeddings=False)
    assert untied.decoder.output_proj.weight is not untied.decoder.embed.tokens.weight


def expected_parameters(cfg: TransformerConfig) -> int:
    """The architecture's parameter count, post-LN, one shared embedding, tied output.

    embeddings V*d; encoder layer: self-attention 4(d^2 + d), FFN 2*d*f + f + d, two
    LayerNorms 2*2d; decoder layer: two attentions, FFN, three LayerNorms.
    """
    d, f, v = cfg.d_model, cfg.ffn_dim, cfg.src_vocab_size
    attention, ffn, norm = 4 * (d * d + d), 2 * d * f + f + d, 2 * d
    encoder_layer = attention + ffn + 2 * norm
    decoder_layer = 2 * attention + ffn + 3 * norm
    return v * d + cfg.encoder_layers * encoder_layer + cfg.decoder_layers * decoder_layer


def test_base_preset_has_the_parameter_count_the_architecture_implies() -> None:
    cfg = TransformerConfig(src_vocab_size=37000, tgt_vocab_size=37000, share_embeddings=True)
    count = sum(p.numel() for p in Transformer(cfg).parameters())
    assert count == expected_parameters(cfg) == 63_082_496  # the paper: "65M" (Table 3)


def test_pre_norm_adds_one_final_layer_norm_per_stack() -> None:
    post = sum(p.numel() for p in tiny_model().parameters())
    pre = sum(p.numel() for p in tiny_model(pre_norm=True).parameters())
    assert pre - post == 2 * 2 * TINY.d_model


def test_dropout_is_active_in_training_only() -> None:
    model = tiny_model(dropout=0.3)
    src, prev = random_tokens(2, 5), random_tokens(2, 4)
    assert torch.equal(model(src, prev), model(src, prev))
    model.train()
    assert not torch.equal(model(src, prev), model(src, prev))


def test_gradients_reach_every_parameter() -> None:
    model = tiny_model(share_embeddings=False, learned_positions=True, tie_output_embeddings=False)
    model(random_tokens(2, 5), random_tokens(2, 4)).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"n_heads": 5}, "divisible by n_heads"),
        ({"tgt_vocab_size": 30}, "joint vocabulary"),
        ({"dropout": 1.0}, "dropout must be in"),
        ({"src_vocab_size": EOS, "share_embeddings": False}, "larger than the special ids"),
        ({"d_model": 15, "n_heads": 5}, "even d_model"),
    ],
)
def test_inconsistent_config_is_refused_with_a_clear_message(changes, message) -> None:
    with pytest.raises(ValueError, match=message):
        replace(TINY, **changes)


def test_bf16_autocast_training_step_matches_fp32_closely() -> None:
    """bf16 training attends through explicit matrix products (not SDPA): same values and
    gradients as fp32 up to bf16 rounding, padding masks included."""
    model = tiny_model(dropout=0.0).train()
    src = pad_to([random_tokens(1, 6)[0], random_tokens(1, 3)[0]], 6)
    prev = pad_to([random_tokens(1, 5)[0], random_tokens(1, 2)[0]], 5)
    reference = model(src, prev)
    reference.sum().backward()
    fp32_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = model(src, prev)
    low.float().sum().backward()
    assert low.dtype == torch.bfloat16
    assert_close(low.float(), reference, atol=0.1, rtol=0.05)
    for fp32_grad, param in zip(fp32_grads, model.parameters(), strict=True):
        similarity = F.cosine_similarity(param.grad.flatten(), fp32_grad.flatten(), dim=0)
        assert similarity > 0.99
