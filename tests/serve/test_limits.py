"""Rate limits, API key files and script-based language detection."""

from __future__ import annotations

from pathlib import Path

import pytest

from seq2seq.common.errors import DataError
from seq2seq.serve.languages import detect
from seq2seq.serve.limits import RateLimiter, read_api_keys


def test_a_client_gets_its_rate_in_bursts_and_then_one_request_per_interval() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    assert [limiter.allow("a", 3) for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b", 3)  # each client has its own bucket
    now[0] = 19.0
    assert not limiter.allow("a", 3)  # one request every 20 s
    now[0] = 20.0
    assert [limiter.allow("a", 3), limiter.allow("a", 3)] == [True, False]


def test_memory_stays_bounded_when_100000_addresses_call() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0], max_clients=1000)
    for index in range(100_000):  # every address of 127.0.0.0/8's first 100,000
        address = f"address 127.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}"
        assert limiter.allow(address, 2)
        now[0] += 0.0001
    assert len(limiter.buckets) == 1000
    assert limiter.allow("address 127.1.134.159", 2)  # the latest: one request left
    assert not limiter.allow("address 127.1.134.159", 2)
    now[0] += 60.0  # a minute later every bucket is full again: all are forgotten
    assert limiter.allow("address 127.0.0.1", 2)
    assert list(limiter.buckets) == ["address 127.0.0.1"]


def test_api_keys_file(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("# team keys\nalpha 120\nbeta  # default rate\n\n", encoding="utf-8")
    assert read_api_keys(keys, default_per_minute=30) == {"alpha": 120, "beta": 30}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("alpha 12 extra\n", "keys.txt:1: expected KEY or KEY REQUESTS_PER_MINUTE"),
        ("alpha\nbeta fast\n", "keys.txt:2: expected KEY or KEY REQUESTS_PER_MINUTE"),
        ("alpha\nalpha 5\n", "keys.txt:2: this key is already given above"),
        ("# nothing\n", "keys.txt: no API key in the file"),
    ],
)
def test_a_bad_api_keys_file_is_one_error_naming_the_line(
    tmp_path: Path, text: str, problem: str
) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        read_api_keys(keys, default_per_minute=0)
    assert str(caught.value) == f"{tmp_path}/{problem}"


def test_detection_by_script() -> None:
    assert [(d.language, d.confidence) for d in detect("سلام دنیا hi", ["en", "fa"])] == [
        ("fa", 80.0), ("en", 20.0)
    ]  # fmt: skip
    assert [d.language for d in detect("Hello!", ["fa", "en"])] == ["en", "fa"]
    assert [d.confidence for d in detect("1234", ["en", "fa"])] == [0.0, 0.0]
