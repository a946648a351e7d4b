"""Running the console scripts as a user would, and finding the shared data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_EN_FA = REPO.parent / "shared" / "data" / "en-fa"
MAX_POSITIONS = 32  # of the model_dir fixture


def shared_en_fa() -> Path:
    """The en-fa data beside the checkout (CI lays shared/ there); skip the test without it."""
    if not SHARED_EN_FA.is_dir():
        pytest.skip(f"no shared data at {SHARED_EN_FA}")
    return SHARED_EN_FA


def run_command(
    name: str, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run the installed console script ``name`` (e.g. seq2seq-prepare) in ``cwd``."""
    script = Path(sys.executable).parent / name
    return subprocess.run(
        [str(script), *args], cwd=cwd, capture_output=True, text=True, timeout=600, env=env
    )
