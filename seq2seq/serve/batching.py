"""Concurrent requests gathered into one decoding batch (continuous batching).

A request's sentences wait in a bounded queue. Whenever the model's thread is free, the worker
takes the oldest request and every queued request with the same decoding options (and, like it,
with or without constraints), up to their ``max_batch_tokens`` source tokens, and decodes them
as one batch at once; it hands each request its own results. A request that finds the decoder
idle starts decoding immediately (no delay spent waiting for company); those that arrive while a
batch decodes form the next batch, so batches grow with the load by themselves, as in
text-generation servers. When the queue is full a request is refused at once (``QueueFull``)
instead of waiting without limit.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field

from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.segments import regroup
from seq2seq.inference.translator import Candidate

Constraints = list[list[str]] | None
Decode = Callable[[list[str], DecodingOptions, Constraints], list[list[Candidate]]]


class QueueFull(Exception):
    """The queue holds ``max_queue`` requests already."""


@dataclass(frozen=True)
class BatchingSettings:
    """The budget of a batch is its decoding options' ``max_batch_tokens`` (a single request
    may exceed it).

    Attributes:
        max_queue: requests waiting at most; more are refused.
        across_requests: False decodes each request alone (for comparison).
    """

    max_queue: int = 256
    across_requests: bool = True


@dataclass
class _Request:
    sentences: list[str]
    options: DecodingOptions
    constraints: Constraints
    tokens: int
    future: asyncio.Future[list[list[Candidate]]] = field(repr=False)


class Batcher:
    """Gathers the requests of one model; ``run`` is its worker, started with the server."""

    def __init__(
        self,
        decode: Decode,
        count_tokens: Callable[[list[str]], int],
        *,
        executor: Executor,
        settings: BatchingSettings,
        on_batch: Callable[[int], None] = lambda sentences: None,
    ) -> None:
        self.decode = decode
        self.count_tokens = count_tokens
        self.executor = executor
        self.settings = settings
        self.on_batch = on_batch
        self.waiting: deque[_Request] = deque()
        self.arrival = asyncio.Event()

    @property
    def depth(self) -> int:
        """Requests waiting to be decoded."""
        return len(self.waiting)

    async def translate(
        self, sentences: list[str], options: DecodingOptions, *, constraints: Constraints = None
    ) -> list[list[Candidate]]:
        """The candidates of each sentence, decoded in a batch with other requests;
        ``constraints``: per sentence, target phrases its candidates must contain."""
        if len(self.waiting) >= self.settings.max_queue:
            raise QueueFull
        future = asyncio.get_running_loop().create_future()
        tokens = self.count_tokens(sentences)
        request = _Request(sentences, options, constraints, tokens, future)
        self.waiting.append(request)
        self.arrival.set()
        return await request.future

    async def run(self) -> None:
        """Decode batches until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            while not self.waiting:
                self.arrival.clear()
                await self.arrival.wait()
            batch = [r for r in self._take() if not r.future.done()]  # done: its client left
            if not batch:
                continue
            sentences = [s for request in batch for s in request.sentences]
            constraints = None
            if batch[0].constraints is not None:
                constraints = [c for request in batch for c in request.constraints]
            self.on_batch(len(sentences))
            try:
                results = await loop.run_in_executor(
                    self.executor, self.decode, sentences, batch[0].options, constraints
                )
            except Exception as error:  # each request gets the error; the worker goes on
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(error)
                continue
            for request, mine in zip(batch, regroup(results, [len(r.sentences) for r in batch]),
                                     strict=True):  # fmt: skip
                if not request.future.done():
                    request.future.set_result(list(mine))

    def _take(self) -> list[_Request]:
        """The oldest request and the queued ones like it (the same options, constrained or
        not as it is), within the token budget."""
        first = self.waiting.popleft()
        batch, tokens, kept = [first], first.tokens, deque()
        while self.settings.across_requests and self.waiting:
            request = self.waiting.popleft()
            fits = tokens + request.tokens <= first.options.max_batch_tokens
            if _alike(request, first) and fits:
                batch.append(request)
                tokens += request.tokens
            else:
                kept.append(request)
        self.waiting.extendleft(reversed(kept))
        return batch


def _alike(request: _Request, other: _Request) -> bool:
    """Whether the two may share a decoding batch."""
    same_kind = (request.constraints is None) == (other.constraints is None)
    return request.options == other.options and same_kind
