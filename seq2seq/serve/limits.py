"""What one client may ask: API keys, requests per minute, and the size of a request."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from seq2seq.common.errors import DataError
from seq2seq.data.readers import read_lines


@dataclass(frozen=True)
class RequestLimits:
    """Attributes:
    max_chars: characters of text in one request, all of ``q`` together.
    max_texts: items in a ``q`` list.
    max_body_bytes: bytes of one request body.
    """

    max_chars: int = 10_000
    max_texts: int = 128
    max_body_bytes: int = 1 << 20


REFILL_SECONDS = 60.0  # a bucket untouched this long is full again: as a new client's
MAX_CLIENTS = 100_000  # buckets kept at most (about 20 MB)


class RateLimiter:
    """A token bucket per client: ``per_minute`` requests a minute, bursts of as many.

    Memory stays bounded however many clients call: a bucket untouched for a minute has
    refilled, which is what a new client gets, so it is forgotten; beyond ``max_clients``
    buckets the least recently used go first (under a flood of distinct addresses, the
    oldest clients start again with a full bucket rather than memory growing).
    """

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, max_clients: int = MAX_CLIENTS
    ) -> None:
        self.clock = clock
        self.max_clients = max_clients
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # (tokens, when)

    def allow(self, client: str, per_minute: int) -> bool:
        """Take one request from ``client``'s bucket; False when it is empty."""
        now = self.clock()
        self._forget(now)
        tokens, then = self.buckets.pop(client, (float(per_minute), now))
        tokens = min(float(per_minute), tokens + (now - then) * per_minute / 60)
        allowed = tokens >= 1
        self.buckets[client] = (tokens - allowed, now)  # the most recent last
        return allowed

    def _forget(self, now: float) -> None:
        """Drop the buckets full by now, and the oldest while there are too many."""
        while self.buckets:
            _, then = next(iter(self.buckets.values()))
            if now - then < REFILL_SECONDS and len(self.buckets) < self.max_clients:
                return
            self.buckets.popitem(last=False)


def read_api_keys(path: Path, *, default_per_minute: int) -> dict[str, int]:
    """``KEY`` or ``KEY REQUESTS_PER_MINUTE`` per line (``#`` starts a comment): key -> rate.

    Raises ``DataError`` naming the line of a malformed entry or a key given twice.
    """
    keys: dict[str, int] = {}
    for number, line in enumerate(read_lines(path), start=1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) > 2 or (len(fields) == 2 and not fields[1].isdigit()):
            raise DataError(path, "expected KEY or KEY REQUESTS_PER_MINUTE", line=number)
        if fields[0] in keys:
            raise DataError(path, "this key is already given above", line=number)
        keys[fields[0]] = int(fields[1]) if len(fields) == 2 else default_per_minute
    if not keys:
        raise DataError(path, "no API key in the file")
    return keys
