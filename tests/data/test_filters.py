"""Each cleaning filter drops what it should, counts it, and can be switched off."""

from __future__ import annotations

import pytest

from seq2seq.data.filters import FilterConfig, PairFilter


def kept_text(config: FilterConfig, pairs: list[tuple[str, str]]) -> tuple[list, dict]:
    pair_filter = PairFilter(config)
    kept = [pair for pair in pairs if pair_filter.keep_text(*pair)]
    return kept, dict(pair_filter.dropped)


def test_empty_sides_are_dropped_and_counted() -> None:
    kept, dropped = kept_text(FilterConfig(), [("a", ""), ("", "b"), ("a", "b")])
    assert kept == [("a", "b")]
    assert dropped == {"empty": 2}


def test_exact_duplicates_keep_the_first() -> None:
    pairs = [("a", "b"), ("a", "c"), ("a", "b"), ("a", "b")]
    kept, dropped = kept_text(FilterConfig(), pairs)
    assert kept == [("a", "b"), ("a", "c")]
    assert dropped == {"duplicate": 2}
    kept, _ = kept_text(FilterConfig(dedup=False), pairs)
    assert kept == pairs


def test_identical_sides_are_dropped() -> None:
    kept, dropped = kept_text(FilterConfig(), [("COVID-19", "COVID-19"), ("yes", "بله")])
    assert kept == [("yes", "بله")]
    assert dropped == {"identical sides": 1}
    assert kept_text(FilterConfig(drop_identical=False), [("x", "x")])[0] == [("x", "x")]


def test_wrong_script_is_dropped() -> None:
    config = FilterConfig(src_script="latin", tgt_script="arabic", drop_identical=False)
    pairs = [("hello", "سلام"), ("hello", "hello there"), ("سلام", "سلام دنیا"), ("42", "۴۲")]
    kept, dropped = kept_text(config, pairs)
    assert kept == [("hello", "سلام")]
    assert dropped == {"target not arabic script": 1, "source not latin script": 2}


def test_too_long_and_length_ratio() -> None:
    pair_filter = PairFilter(FilterConfig(max_tokens=50, max_ratio=2.0, ratio_min_tokens=10))
    assert pair_filter.keep_lengths(50, 40)
    assert not pair_filter.keep_lengths(51, 40)
    assert not pair_filter.keep_lengths(21, 10)  # ratio 2.1
    assert pair_filter.keep_lengths(9, 1)  # too short for the ratio to mean anything
    assert dict(pair_filter.dropped) == {"too long": 1, "length ratio": 1}
    off = PairFilter(FilterConfig(max_tokens=None, max_ratio=None))
    assert off.keep_lengths(10_000, 1)


def test_unknown_script_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown script"):
        FilterConfig(src_script="klingon")
