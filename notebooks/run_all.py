"""Run every notebook headless, as the tests do, and keep copies with outputs.

    .venv/bin/python notebooks/run_all.py      # what `make notebooks` runs

The copies go to runs/notebooks/ (git-ignored), beside what the notebooks write there.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "runs" / "notebooks"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for script in sorted(HERE.glob("[0-9][0-9]_*.py")):
        notebook = jupytext.read(script)
        client = NotebookClient(notebook, timeout=1800, kernel_name="python3",
                                resources={"metadata": {"path": str(HERE)}})  # fmt: skip
        client.execute()
        nbformat.write(notebook, OUT / f"{script.stem}.ipynb")
        print(f"{script.name} ran: {OUT / script.stem}.ipynb")


if __name__ == "__main__":
    main()
