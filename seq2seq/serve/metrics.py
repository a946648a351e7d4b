"""The server's Prometheus metrics, in a registry of their own (one per server)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class Metrics:
    """Requests by endpoint and status, latency, translation requests by decoding engine,
    cache lookups, decoding batch sizes, queue depth."""

    def __init__(self, queue_depth: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "seq2seq_requests", "HTTP requests answered", ["endpoint", "status"],
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "seq2seq_request_seconds", "Time from request to response", ["endpoint", "status"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.engine_requests = Counter(
            "seq2seq_engine_requests", "Translation requests by the engine that decodes them",
            ["engine"], registry=self.registry,
        )  # fmt: skip
        self.cache_lookups = Counter(
            "seq2seq_cache_lookups", "Sentences looked up in the translation cache",
            ["result"], registry=self.registry,
        )  # fmt: skip
        self.batch_sentences = Histogram(
            "seq2seq_batch_sentences", "Sentences per decoding batch",
            buckets=BATCH_BUCKETS, registry=self.registry,
        )  # fmt: skip
        depth = Gauge(
            "seq2seq_queue_depth", "Requests waiting to be decoded", registry=self.registry
        )
        depth.set_function(queue_depth)

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint, str(status)).inc()
        self.latency.labels(endpoint, str(status)).observe(seconds)

    def cache_lookup(self, hit: bool) -> None:
        self.cache_lookups.labels("hit" if hit else "miss").inc()

    def text(self) -> bytes:
        """The exposition format Prometheus scrapes."""
        return generate_latest(self.registry)
