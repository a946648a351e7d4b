"""Importing seq2seq sets OpenMP's thread-waiting defaults, unless the user set them."""

from __future__ import annotations

import os
import subprocess
import sys

SHOW = "import os, seq2seq; print(os.environ['OMP_WAIT_POLICY'], os.environ['GOMP_SPINCOUNT'])"


def waiting_after_import(**settings: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    result = subprocess.run(
        [sys.executable, "-c", SHOW], env={**env, **settings}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_passive_waiting_with_a_short_spin_by_default() -> None:
    assert waiting_after_import() == ["PASSIVE", "10000"]


def test_the_users_settings_win() -> None:
    assert waiting_after_import(OMP_WAIT_POLICY="ACTIVE", GOMP_SPINCOUNT="0") == ["ACTIVE", "0"]
