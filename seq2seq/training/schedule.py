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


def linear_warmup_decay_factor(step: int, *, warmup_steps: int, total_steps: int) -> float:
    """0 -> 1 over ``warmup_steps``, then linearly to 0 at ``total_steps`` (``step`` from 1)."""
    if step < warmup_steps:
        return step / warmup_steps
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


def linear_warmup_decay(optimizer: Optimizer, *, warmup_steps: int, total_steps: int) -> LambdaLR:
    """Linear warm-up then linear decay; the optimizer's lr is the peak."""
    if total_steps <= warmup_steps:
        raise ValueError(f"total_steps ({total_steps}) must exceed warmup_steps ({warmup_steps})")
    return LambdaLR(
        optimizer,
        lambda index: linear_warmup_decay_factor(
            index + 1, warmup_steps=warmup_steps, total_steps=total_steps
        ),
    )
