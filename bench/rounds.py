"""Timing several systems fairly on a machine whose speed drifts."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timed_in_rounds(runs: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """name -> median seconds of ``rounds`` runs, after a warm-up. Each round runs every system
    once, in turn, so a machine that slows down for a while slows all of them alike."""
    for run in runs.values():
        run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(seconds) for name, seconds in times.items()}
