"""Requests gathered across clients: one decoding batch, each client its own results."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.translator import Candidate
from seq2seq.serve.batching import Batcher, BatchingSettings, QueueFull

GREEDY, BEAM = DecodingOptions(beam_size=1), DecodingOptions(beam_size=4)


class Recorder:
    """A decoder that upper-cases sentences and records each batch it was given; ``gate``
    holds the decoding thread until released, ``started`` is set once a batch is taken."""

    def __init__(self) -> None:
        self.batches: list[tuple[list[str], DecodingOptions]] = []
        self.constraints: list[list[list[str]] | None] = []
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()

    def __call__(
        self, sentences: list[str], options: DecodingOptions, constraints: list[list[str]] | None
    ) -> list[list[Candidate]]:
        self.started.set()
        self.gate.wait()
        self.batches.append((list(sentences), options))
        self.constraints.append(constraints)
        if "boom" in sentences:
            raise RuntimeError("decoding failed")
        return [[Candidate(s.upper(), None)] for s in sentences]


def run(coroutine_factory, settings: BatchingSettings, recorder: Recorder):
    """Run ``coroutine_factory(batcher)`` while the batcher's worker runs."""

    async def main():
        with ThreadPoolExecutor(1) as executor:
            batcher = Batcher(recorder, lambda s: sum(len(x.split()) + 1 for x in s),
                              executor=executor, settings=settings)  # fmt: skip
            worker = asyncio.create_task(batcher.run())
            try:
                return await coroutine_factory(batcher)
            finally:
                worker.cancel()

    return asyncio.run(main())


async def decoding(recorder: Recorder) -> None:
    """Return once the decoding thread has taken a batch."""
    assert await asyncio.to_thread(recorder.started.wait, 30)


async def queued(batcher: Batcher, requests: int) -> None:
    """Return once ``requests`` requests wait in the queue."""
    while batcher.depth < requests:
        await asyncio.sleep(0)  # lets the clients' tasks run up to their wait


def texts(results: list[list[Candidate]]) -> list[str]:
    return [candidates[0].text for candidates in results]


def test_concurrent_requests_share_one_batch_and_each_gets_its_own_results() -> None:
    recorder = Recorder()
    requests = [[f"request {i} sentence {j}" for j in range(i % 3 + 1)] for i in range(12)]

    async def clients(batcher):
        return await asyncio.gather(*(batcher.translate(r, GREEDY) for r in requests))

    results = run(clients, BatchingSettings(), recorder)
    assert [texts(r) for r in results] == [[s.upper() for s in r] for r in requests]
    assert len(recorder.batches) == 1
    assert recorder.batches[0][0] == [s for r in requests for s in r]


def test_a_lone_request_is_decoded_at_once_and_those_arriving_meanwhile_form_the_next_batch() -> (
    None
):
    recorder = Recorder()
    recorder.gate.clear()

    async def clients(batcher):
        lone = asyncio.create_task(batcher.translate(["lone"], GREEDY))
        await decoding(recorder)  # nobody else came: it decodes alone, without waiting
        meanwhile = [asyncio.create_task(batcher.translate([w], GREEDY)) for w in "abc"]
        await queued(batcher, 3)
        assert batcher.depth == 3
        recorder.gate.set()
        return await asyncio.gather(lone, *meanwhile)

    results = run(clients, BatchingSettings(), recorder)
    assert [texts(r) for r in results] == [["LONE"], ["A"], ["B"], ["C"]]
    assert [batch for batch, _ in recorder.batches] == [["lone"], ["a", "b", "c"]]


def test_without_batching_each_request_is_decoded_alone() -> None:
    recorder = Recorder()
    requests = [[f"request {i}"] for i in range(5)]

    async def clients(batcher):
        return await asyncio.gather(*(batcher.translate(r, GREEDY) for r in requests))

    results = run(clients, BatchingSettings(across_requests=False), recorder)
    assert [texts(r) for r in results] == [[r[0].upper()] for r in requests]
    assert [batch for batch, _ in recorder.batches] == requests


def test_requests_with_other_options_wait_for_a_batch_of_their_own() -> None:
    recorder = Recorder()

    async def clients(batcher):
        return await asyncio.gather(
            batcher.translate(["a"], GREEDY), batcher.translate(["b"], BEAM),
            batcher.translate(["c"], GREEDY), batcher.translate(["d"], BEAM),
        )  # fmt: skip

    results = run(clients, BatchingSettings(), recorder)
    assert [texts(r) for r in results] == [["A"], ["B"], ["C"], ["D"]]
    assert recorder.batches == [(["a", "c"], GREEDY), (["b", "d"], BEAM)]


def test_constrained_requests_share_a_batch_of_their_own_with_their_phrases() -> None:
    recorder = Recorder()

    async def clients(batcher):
        return await asyncio.gather(
            batcher.translate(["a", "b"], GREEDY, constraints=[["x"], []]),
            batcher.translate(["c"], GREEDY),
            batcher.translate(["d"], GREEDY, constraints=[["y", "z"]]),
        )  # fmt: skip

    results = run(clients, BatchingSettings(), recorder)
    assert [texts(r) for r in results] == [["A", "B"], ["C"], ["D"]]
    assert [batch for batch, _ in recorder.batches] == [["a", "b", "d"], ["c"]]
    assert recorder.constraints == [[["x"], [], ["y", "z"]], None]


def test_a_batch_holds_at_most_its_token_budget() -> None:
    recorder = Recorder()  # each one-word sentence counts 2 tokens
    options = DecodingOptions(beam_size=1, max_batch_tokens=6)

    async def clients(batcher):
        return await asyncio.gather(*(batcher.translate([f"w{i}"], options) for i in range(7)))

    run(clients, BatchingSettings(), recorder)
    assert [batch for batch, _ in recorder.batches] == [
        ["w0", "w1", "w2"],
        ["w3", "w4", "w5"],
        ["w6"],
    ]


def test_a_full_queue_refuses_at_once_and_the_queued_requests_still_complete() -> None:
    recorder = Recorder()
    recorder.gate.clear()  # the decoding thread is busy

    async def clients(batcher):
        first = asyncio.create_task(batcher.translate(["first"], GREEDY))
        await decoding(recorder)  # the worker took it and is stuck decoding it
        waiting = [asyncio.create_task(batcher.translate([f"q{i}"], GREEDY)) for i in range(2)]
        await queued(batcher, 2)
        with pytest.raises(QueueFull):
            await batcher.translate(["one too many"], GREEDY)
        recorder.gate.set()
        return await asyncio.gather(first, *waiting)

    results = run(clients, BatchingSettings(max_queue=2), recorder)
    assert [texts(r) for r in results] == [["FIRST"], ["Q0"], ["Q1"]]


def test_a_failed_batch_fails_its_requests_and_the_worker_goes_on() -> None:
    recorder = Recorder()

    async def clients(batcher):
        failed = await asyncio.gather(
            batcher.translate(["boom"], GREEDY), batcher.translate(["x"], GREEDY),
            return_exceptions=True,
        )  # fmt: skip
        return failed, await batcher.translate(["after"], GREEDY)

    failed, after = run(clients, BatchingSettings(), recorder)
    assert [str(f) for f in failed] == ["decoding failed"] * 2
    assert texts(after) == ["AFTER"]


def test_a_request_whose_client_left_is_not_decoded() -> None:
    recorder = Recorder()
    recorder.gate.clear()

    async def clients(batcher):
        busy = asyncio.create_task(batcher.translate(["busy"], GREEDY))
        await decoding(recorder)
        left = asyncio.create_task(batcher.translate(["left"], GREEDY))
        stays = asyncio.create_task(batcher.translate(["stays"], GREEDY))
        await queued(batcher, 2)
        left.cancel()
        recorder.gate.set()
        return await asyncio.gather(busy, stays)

    run(clients, BatchingSettings(), recorder)
    assert [batch for batch, _ in recorder.batches] == [["busy"], ["stays"]]
