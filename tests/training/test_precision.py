"""``trainer.precision=auto`` picks bf16 only where it measured at least 1.8x fp32."""

from __future__ import annotations

import pytest

from seq2seq.training import precision
from seq2seq.training.precision import MIN_CPU_BF16_WIDTH, resolve_precision


@pytest.mark.parametrize(
    ("amx", "d_model", "expected"),
    [
        (True, MIN_CPU_BF16_WIDTH, "bf16-mixed"),  # the base preset on an AMX CPU
        (True, 2 * MIN_CPU_BF16_WIDTH, "bf16-mixed"),
        (True, 128, "32-true"),  # tiny: bf16 barely pays off there
        (False, MIN_CPU_BF16_WIDTH, "32-true"),  # no bf16 matrix units
    ],
)
def test_auto_on_cpu_picks_bf16_for_wide_models_on_amx_only(monkeypatch, amx, d_model, expected):
    monkeypatch.setattr(precision, "cpu_has_amx", lambda: amx)
    assert resolve_precision("auto", accelerator="cpu", d_model=d_model) == expected


def test_an_explicit_precision_passes_through(monkeypatch) -> None:
    monkeypatch.setattr(precision, "cpu_has_amx", lambda: True)
    assert resolve_precision("32-true", accelerator="cpu", d_model=512) == "32-true"
    assert resolve_precision("bf16-mixed", accelerator="cpu", d_model=128) == "bf16-mixed"
