"""Learning-rate schedules as LambdaLR factories (Hydra ``_partial_`` targets)."""

from __future__ import annotations

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def inverse_sqrt_factor(step: int, *, d_model: int, warmup_steps: int) -> float:
    """The paper's Eq. (3): d_model^-0.5 * min(step^-0.5, step * warmup_steps^-1.5).

    ``step`` counts from 1. The rate rises linearly for ``warmup_steps`` steps, peaks at
    (d_model * warmup_steps)^-0.5, then decays as 1 / sqrt(step).
    """
    step = max(step, 1)
    return d_model**-0.5 * min(step**-0.5, step * warmup_steps**-1.5)


def inverse_sqrt(optimizer: Optimizer, *, d_model: int, warmup_steps: int) -> LambdaLR:
    """Section 5.3 schedule; the optimizer's lr is a multiplier (1.0 = the paper's rates)."""
    return LambdaLR(
        optimizer,
        lambda index: inverse_sqrt_factor(index + 1, d_model=d_model, warmup_steps=warmup_steps),
    )
