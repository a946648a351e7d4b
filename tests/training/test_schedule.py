"""The learning-rate schedules give the paper's values at known steps."""

from __future__ import annotations

import pytest
import torch

from seq2seq.training.schedule import inverse_sqrt


def rates(scheduler_factory, steps: int, **options) -> list[float]:
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = scheduler_factory(optimizer, **options)
    seen = []
    for _ in range(steps):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return seen


def test_inverse_sqrt_is_equation_3_of_the_paper() -> None:
    lr = rates(inverse_sqrt, 16000, d_model=512, warmup_steps=4000)
    # lrate = d_model^-0.5 * min(step^-0.5, step * warmup^-1.5), step counted from 1
    assert lr[0] == pytest.approx(512**-0.5 * 4000**-1.5)  # step 1
    assert lr[999] == pytest.approx(512**-0.5 * 1000 * 4000**-1.5)  # step 1000, warming up
    assert lr[3999] == pytest.approx(6.9877e-4, rel=1e-4)  # step 4000, the peak
    assert max(lr) == lr[3999]
    assert lr[15999] == pytest.approx(512**-0.5 * 16000**-0.5)  # half the peak at 4x warmup
    assert lr[15999] == pytest.approx(lr[3999] / 2)
