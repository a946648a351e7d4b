"""Whole-model behaviour: masks, positions, incremental decoding, tying and size."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from seq2seq.model import Transformer, TransformerConfig
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


def decode_incrementally(model: Transformer, src: torch.Tensor, prev: torch.Tensor):
    memory = model.encode(src)
    cache, steps = None, []
    for t in range(prev.size(1)):
        logits, cache = model.decode_step(prev[:, t : t + 1], memory, cache)
        steps.append(logits)
    return torch.stack(steps, 1), cache


def test_incremental_decoding_equals_full_forward() -> None:
    model = tiny_model()
    src = pad_to([random_tokens(1, 5)[0], random_tokens(1, 3)[0], random_tokens(1, 7)[0]], 7)
    prev = torch.cat([torch.full((3, 1), BOS), random_tokens(3, 5)], 1)
    incremental, cache = decode_incrementally(model, src, prev)
    assert_close(incremental, model(src, prev))
    assert cache.length == 6
    assert cache.self_attention[0].key.shape == (3, TINY.n_heads, 6, TINY.head_dim)
    assert cache.cross_attention[0].key.shape == (3, TINY.n_heads, 7, TINY.head_dim)


def test_cross_attention_keys_are_projected_once_per_source() -> None:
    model = tiny_model()
    src, prev = random_tokens(2, 5), random_tokens(2, 4)
    calls = []
    model.decoder.layers[0].cross_attn.kv_proj.register_forward_hook(lambda *_: calls.append(1))
    decode_incrementally(model, src, prev)
    assert len(calls) == 1


@pytest.mark.parametrize(
    "reorders",
    [
        [[2, 0, 0, 1]],  # more rows than before, uneven: a group per row
        [[2, 0, 0]],  # as many rows, uneven: a group per row
        [[0, 2, 2]],  # row 0 stays where it is, row 1 is overwritten
        [[0, 0, 1, 1, 2, 2]],  # beam search's first step: each sentence widens to two beams
        # then beams swap, one beam takes over both slots, and a sentence ends:
        [[0, 0, 1, 1, 2, 2], [1, 0, 3, 3, 4, 5], [0, 1, 4, 5]],
        [[0, 0, 1, 1, 2, 2], [1, 3, 0, 2]],  # then groups mix: a group per row
        # then one beam of each sentence takes both slots, twice: dead entries are dropped
        [[0, 0, 1, 1, 2, 2], [0, 0, 2, 2, 4, 4], [1, 1, 3, 3, 5, 5]],
    ],
)
def test_reordered_cache_equals_recomputing_the_reordered_prefixes(reorders) -> None:
    """Reorder like beam search does (widen, repeat a row, drop one), decoding 2 positions
    after each reorder and 20 after the last: past the cache's first capacity of 16, so the
    buffers also grow."""
    model = tiny_model()
    src = pad_to([random_tokens(1, 5)[0], random_tokens(1, 3)[0], random_tokens(1, 7)[0]], 7)
    prefix = torch.cat([torch.full((3, 1), BOS), random_tokens(3, 3)], 1)
    _, cache = decode_incrementally(model, src, prefix)
    for number, indices in enumerate(map(torch.tensor, reorders), 1):
        cache = cache.reorder(indices)
        src, prefix = src[indices], prefix[indices]
        continuation = random_tokens(len(indices), 20 if number == len(reorders) else 2)
        memory = model.encode(src)
        steps = []
        for t in range(continuation.size(1)):
            logits, cache = model.decode_step(continuation[:, t : t + 1], memory, cache)
            steps.append(logits)
        full = model(src, torch.cat([prefix, continuation], 1))
        assert_close(torch.stack(steps, 1), full[:, prefix.size(1) :])
        prefix = torch.cat([prefix, continuation], 1)


def test_beams_share_their_prefix_entries() -> None:
    """Widening to beams and reordering them stores one entry per row and step, no copies."""
    model = tiny_model()
    _, cache = decode_incrementally(model, random_tokens(2, 4), torch.full((2, 3), BOS))
    cache = cache.reorder(torch.tensor([0, 0, 0, 1, 1, 1]))
    _, cache = model.decode_step(random_tokens(6, 1), model.encode(random_tokens(2, 4)), cache)
    cache = cache.reorder(torch.tensor([2, 2, 0, 3, 4, 5]))
    assert cache.self_attention[0].buffer.size(1) == 2  # a buffer per sentence
    assert cache.self_attention[0].length == 3 + 3
    assert cache.paths.tolist() == [[0, 1, 2, 5]] * 2 + [[0, 1, 2, 3]] + [
        [0, 1, 2, 3],
        [0, 1, 2, 4],
        [0, 1, 2, 5],
    ]


def test_entries_that_no_beam_holds_are_dropped() -> None:
    """One beam takes over its sentence's three slots: the entries of the two others are no
    path's any more (2 of 6 stored, at least DEAD_SHARE), so they go and the paths are
    renumbered; decoding goes on as if they were there."""
    model = tiny_model()
    src = random_tokens(2, 4)
    memory = model.encode(src)
    prefix = torch.cat([torch.full((2, 3), BOS), random_tokens(2, 1)], 1)
    _, cache = decode_incrementally(model, src, prefix[:, :3])
    cache = cache.reorder(torch.tensor([0, 0, 0, 1, 1, 1]))
    _, cache = model.decode_step(prefix[[0, 0, 0, 1, 1, 1], 3:], memory, cache)
    assert cache.self_attention[0].length == 3 + 3
    cache = cache.reorder(torch.tensor([2, 2, 2, 5, 5, 5]))
    assert cache.self_attention[0].length == 3 + 1
    assert cache.paths.tolist() == [[0, 1, 2, 3]] * 6
    prefix = torch.cat([prefix, random_tokens(2, 1)], 1)[[0, 0, 0, 1, 1, 1]]
    logits, _ = model.decode_step(prefix[:, -1:], memory, cache)
    assert_close(logits, model(src[[0, 0, 0, 1, 1, 1]], prefix)[:, -1])


def test_reserved_buffers_take_every_step_without_growing() -> None:
    """Room for 1 + 3 * 30 entries per sentence: three beams for 30 steps never outgrow it, not
    even after a sentence leaves the batch (its buffers are copied at the same capacity)."""
    model = tiny_model()
    src = random_tokens(2, 4)
    memory = model.encode(src)
    _, cache = model.decode_step(torch.full((2, 1), BOS), memory, reserve=1 + 3 * 30)
    assert cache.self_attention[0].buffer.size(3) == 1 + 3 * 30
    cache = cache.reorder(torch.tensor([0, 0, 0, 1, 1, 1]))
    prefix = torch.cat([torch.full((6, 1), BOS), random_tokens(6, 29)], 1)
    for t in range(1, 10):
        _, cache = model.decode_step(prefix[:, t : t + 1], memory, cache)
    buffer = cache.self_attention[0].buffer
    for t in range(10, 30):
        logits, cache = model.decode_step(prefix[:, t : t + 1], memory, cache)
    assert cache.self_attention[0].buffer is buffer
    cache = cache.reorder(torch.tensor([3, 4, 5]))  # sentence 0 is done
    prefix = torch.cat([prefix[3:], random_tokens(3, 1)], 1)
    logits, cache = model.decode_step(prefix[:, -1:], memory, cache)
    assert cache.self_attention[0].buffer.size(3) == 1 + 3 * 30
    assert cache.self_attention[0].length == 1 + 3 * 30
    assert_close(logits, model(src[[1, 1, 1]], prefix)[:, -1])


@pytest.mark.parametrize(
    ("indices", "sources", "untouched"),
    [
        ([0, 0, 1, 1, 2, 2], 3, True),  # one row per sentence widens to two beams each
        ([1, 1, 0, 0, 2, 2], 3, False),  # the groups come in another order
        ([0, 0, 2, 2], 2, False),  # sentence 1 is done
        ([0, 1, 1, 2], 4, False),  # uneven groups: one row per decoder row
    ],
)
def test_cross_attention_keys_stay_one_row_per_source_group(indices, sources, untouched) -> None:
    model = tiny_model()
    _, cache = decode_incrementally(model, random_tokens(3, 4), torch.full((3, 1), BOS))
    reordered = cache.reorder(torch.tensor(indices))
    assert reordered.cross_attention[0].key.size(0) == sources
    assert (reordered.cross_attention[0] is cache.cross_attention[0]) == untouched


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
