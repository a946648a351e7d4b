"""The decoder's key/value cache for search: stepping, reordering, beams sharing a prefix."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from seq2seq.inference.runtime.cache import DecoderCache
from seq2seq.model import Transformer
from tests.model.helpers import BOS, TINY, pad_to, random_tokens, tiny_decoder_only, tiny_model


def decode_incrementally(model: Transformer, src: torch.Tensor, prev: torch.Tensor):
    cache, steps = DecoderCache.begin(model.decoder, model.start_decoding(src)), []
    for t in range(prev.size(1)):
        logits, cache = cache.step(prev[:, t : t + 1])
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
        steps = []
        for t in range(continuation.size(1)):
            logits, cache = cache.step(continuation[:, t : t + 1])
            steps.append(logits)
        full = model(src, torch.cat([prefix, continuation], 1))
        assert_close(torch.stack(steps, 1), full[:, prefix.size(1) :])
        prefix = torch.cat([prefix, continuation], 1)


def test_beams_share_their_prefix_entries() -> None:
    """Widening to beams and reordering them stores one entry per row and step, no copies."""
    model = tiny_model()
    _, cache = decode_incrementally(model, random_tokens(2, 4), torch.full((2, 3), BOS))
    cache = cache.reorder(torch.tensor([0, 0, 0, 1, 1, 1]))
    _, cache = cache.step(random_tokens(6, 1))
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
    prefix = torch.cat([torch.full((2, 3), BOS), random_tokens(2, 1)], 1)
    _, cache = decode_incrementally(model, src, prefix[:, :3])
    cache = cache.reorder(torch.tensor([0, 0, 0, 1, 1, 1]))
    _, cache = cache.step(prefix[[0, 0, 0, 1, 1, 1], 3:])
    assert cache.self_attention[0].length == 3 + 3
    cache = cache.reorder(torch.tensor([2, 2, 2, 5, 5, 5]))
    assert cache.self_attention[0].length == 3 + 1
    assert cache.paths.tolist() == [[0, 1, 2, 3]] * 6
    prefix = torch.cat([prefix, random_tokens(2, 1)], 1)[[0, 0, 0, 1, 1, 1]]
    logits, _ = cache.step(prefix[:, -1:])
    assert_close(logits, model(src[[0, 0, 0, 1, 1, 1]], prefix)[:, -1])


def test_reserved_buffers_take_every_step_without_growing() -> None:
    """Room for 1 + 3 * 30 entries per sentence: three beams for 30 steps never outgrow it, not
    even after a sentence leaves the batch (the rest are copied, at the same capacity, over
    the same memory: no new pages to fault in)."""
    model = tiny_model()
    src = random_tokens(2, 4)
    cache = DecoderCache.begin(model.decoder, model.start_decoding(src), reserve=1 + 3 * 30)
    _, cache = cache.step(torch.full((2, 1), BOS))
    assert cache.self_attention[0].buffer.size(3) == 1 + 3 * 30
    cache = cache.reorder(torch.tensor([0, 0, 0, 1, 1, 1]))
    prefix = torch.cat([torch.full((6, 1), BOS), random_tokens(6, 29)], 1)
    for t in range(1, 10):
        _, cache = cache.step(prefix[:, t : t + 1])
    buffer = cache.self_attention[0].buffer
    for t in range(10, 30):
        logits, cache = cache.step(prefix[:, t : t + 1])
    assert cache.self_attention[0].buffer is buffer
    cache = cache.reorder(torch.tensor([3, 4, 5]))  # sentence 0 is done
    prefix = torch.cat([prefix[3:], random_tokens(3, 1)], 1)
    assert cache.self_attention[0].buffer.data_ptr() == buffer.data_ptr()
    logits, cache = cache.step(prefix[:, -1:])
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


def test_a_decoder_only_prompt_then_steps_equal_the_full_forward() -> None:
    """A prompt in one go, a second part in one go, then one token per step."""
    model = tiny_decoder_only()
    tokens = torch.cat([torch.full((3, 1), BOS), random_tokens(3, 9)], 1)
    cache = DecoderCache.without_memory(model.decoder, rows=3)
    first, cache = cache.extend(tokens[:, :4])
    second, cache = cache.extend(tokens[:, 4:6])
    steps = []
    for t in range(6, 10):
        logits, cache = cache.step(tokens[:, t : t + 1])
        steps.append(logits)
    assert_close(torch.cat([first, second, torch.stack(steps, 1)], 1), model(tokens))
    assert cache.cross_attention is None and cache.length == 10


def test_decoder_only_beams_follow_their_reordered_prefixes() -> None:
    model = tiny_decoder_only()
    prompt = torch.cat([torch.full((2, 1), BOS), random_tokens(2, 3)], 1)
    _, cache = DecoderCache.without_memory(model.decoder, rows=2).extend(prompt)
    prefix = prompt
    for indices in map(torch.tensor, ([0, 0, 0, 1, 1, 1], [2, 0, 0, 3, 5, 5], [3, 4, 5])):
        cache, prefix = cache.reorder(indices), prefix[indices]
        new = random_tokens(len(indices), 1)
        logits, cache = cache.step(new)
        prefix = torch.cat([prefix, new], 1)
        assert_close(logits, model(prefix)[:, -1])
    assert cache.groups == 1


def test_extend_refuses_beams() -> None:
    model = tiny_decoder_only()
    _, cache = DecoderCache.without_memory(model.decoder, rows=1).extend(torch.full((1, 1), BOS))
    with pytest.raises(ValueError, match="one row per group"):
        cache.reorder(torch.tensor([0, 0])).extend(random_tokens(2, 2))
