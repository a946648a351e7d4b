"""Who may be answered now: API keys and requests per minute, as a FastAPI dependency."""

from __future__ import annotations

import math

from starlette.requests import Request

from seq2seq.serve.limits import RateLimiter
from seq2seq.serve.requests import ApiError


class Admission:
    """403 without a known API key (when the server has keys), 429 past a client's requests
    per minute: a key's own rate, or ``requests_per_minute`` per client address."""

    def __init__(self, *, api_keys: dict[str, int] | None, requests_per_minute: int) -> None:
        self.api_keys = api_keys
        self.requests_per_minute = requests_per_minute
        self.limiter = RateLimiter()

    def __call__(self, request: Request, api_key: str | None) -> None:
        """Raise ``ApiError`` unless ``request``, with ``api_key``, may be answered now."""
        if self.api_keys is not None:
            if (api_key or "") not in self.api_keys:
                raise ApiError(403, "Invalid API key")
            client, rate = f"key {api_key}", self.api_keys[api_key]
        else:
            address = request.client.host if request.client else ""
            client, rate = f"address {address}", self.requests_per_minute
        if rate and not self.limiter.allow(client, rate):
            retry = str(math.ceil(60 / rate))
            raise ApiError(429, "Slowdown: too many requests", headers={"Retry-After": retry})
