"""The entry points set OpenMP's thread-waiting defaults, unless the user set them; the library
leaves its host process's environment alone."""

from __future__ import annotations

import os
import subprocess
import sys

SHOW = "import os, {module}; print(*map(os.environ.get, ('OMP_WAIT_POLICY', 'GOMP_SPINCOUNT')))"


def waiting_after_import(module: str = "seq2seq.cli.translate", **settings: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    code = SHOW.format(module=module)
    result = subprocess.run(
        [sys.executable, "-c", code], env={**env, **settings}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_passive_waiting_with_a_short_spin_by_default() -> None:
    assert waiting_after_import() == ["PASSIVE", "10000"]


def test_the_users_settings_win() -> None:
    assert waiting_after_import(OMP_WAIT_POLICY="ACTIVE", GOMP_SPINCOUNT="0") == ["ACTIVE", "0"]


def test_the_library_changes_nothing() -> None:
    library = "seq2seq, seq2seq.inference.translator, seq2seq.training.run"
    assert waiting_after_import(library) == ["None", "None"]
