"""How OpenMP's idle threads wait: the setting the entry points choose for their process.

OpenMP's default, spinning up to about 3 ms (GOMP_SPINCOUNT 300,000), makes a step up to 4x
slower on a shared 2-core machine when another process holds a core; never spinning
(OMP_WAIT_POLICY=PASSIVE alone) makes decoding about 1.5x slower on a free machine. Spinning
about 0.1 ms, then sleeping, keeps both (docs/benchmarks.md, "OpenMP thread waiting").
"""

from __future__ import annotations

import os

WAITING_DEFAULTS = {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "10000"}


def set_openmp_waiting_defaults() -> None:
    """Set the waiting defaults where the user has not set them. OpenMP reads them when torch
    loads its runtime, so call this before the first ``import torch`` of the process."""
    for name, value in WAITING_DEFAULTS.items():
        os.environ.setdefault(name, value)
