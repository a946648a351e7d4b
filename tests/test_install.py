"""The install as a user runs it: the wheel builds from the tracked files without a warning of
our own making, and carries the configs and the page."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.helpers import REPO


def tracked_copy(destination: Path) -> Path:
    """The repository's tracked files, copied under ``destination``, as a clean clone has them."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True
    )
    for name in filter(None, listed.stdout.split("\0")):
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / name, target)
    return destination


def test_the_wheel_builds_without_warnings_and_carries_configs_page_and_kernels(
    tmp_path: Path,
) -> None:
    source = tracked_copy(tmp_path / "source")
    wheel_dir = tmp_path / "wheel"
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    build = subprocess.run(
        [*pip, "--wheel-dir", str(wheel_dir), str(source)], capture_output=True, text=True
    )
    assert build.returncode == 0, build.stderr
    output = build.stdout + build.stderr
    assert "warning" not in output.lower(), output
    (wheel,) = wheel_dir.glob("seq2seq-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    configs = {
        f"seq2seq/conf/{path.relative_to(REPO / 'conf')}" for path in REPO.glob("conf/**/*.yaml")
    }
    page = {f"seq2seq/serve/static/{path.name}" for path in REPO.glob("seq2seq/serve/static/*")}
    kernels = {
        f"seq2seq/inference/runtime/native/{p.name}" for p in REPO.glob("seq2seq/**/native/*.[ch]")
    }
    assert configs and page and kernels
    assert configs | page | kernels <= shipped
