"""LibreTranslate as a peer of seq2seq-serve: its own environment, our model packaged for it.

LibreTranslate 1.9.6 and argostranslate run in an environment of their own, outside the
checkout (``$SEQ2SEQ_PEERS/libretranslate``, by default ``~/.cache/seq2seq/peers``; made on
first use from PyPI: torch's CPU build first, then libretranslate; ../shared/PEERS.md), never
in our install. Our model goes to it as an Argos package (``seq2seq-export --to argos``),
installed into a scratch data folder. Offline, argostranslate cannot download its sentence
splitter, so the server runs with a splitter that keeps each text whole: one sentence per
request, which only removes work from LibreTranslate's side; nor its package index, which an
empty one replaces.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from seq2seq.export.formats import export_argos
from seq2seq.modeldir.format import load_model_dir

PEERS = Path(os.environ.get("SEQ2SEQ_PEERS", Path.home() / ".cache" / "seq2seq" / "peers"))
ENV = PEERS / "libretranslate"
PYTHON = ENV / "bin" / "python"
PINS = ("torch==2.13.0", "libretranslate==1.9.6")  # torch first: its CPU build, not CUDA's
WHOLE_TEXTS = (
    "import sys\n"
    "import argostranslate.sbd as sbd\n"
    "sbd.MiniSBDSentencizer.split_sentences = lambda self, text: [text]\n"
    "from libretranslate.main import main\n"
    "sys.argv = ['libretranslate', *sys.argv[1:]]\n"
    "main()\n"
)


def ensure_environment() -> Path:
    """The peer's Python, installing it first where it is missing."""
    if not (ENV / ".installed").is_file():
        ENV.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(ENV)], check=True)
        for pin in PINS:
            subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", pin], check=True)
        (ENV / ".installed").touch()
    return PYTHON


class LibreTranslate:
    """LibreTranslate serving ``model`` (one of our model directories) on 127.0.0.1."""

    def __init__(self, model: Path, scratch: Path) -> None:
        python = ensure_environment()
        loaded = load_model_dir(model)
        spec = loaded.spec
        package = export_argos(loaded, scratch / "package")
        self.env = {**os.environ, "HOME": str(scratch), "XDG_DATA_HOME": str(scratch / "data"),
                    "XDG_CONFIG_HOME": str(scratch / "config"),
                    "XDG_CACHE_HOME": str(scratch / "cache")}  # fmt: skip
        install = f"import argostranslate.package as p; p.install_from_path({str(package)!r})"
        subprocess.run([str(python), "-c", install], env=self.env, check=True)
        # Offline, argostranslate's package index cannot be fetched, and LibreTranslate's
        # first translation then retries the download without end: an empty index is enough.
        (scratch / "data" / "argos-translate" / "index.json").write_text("[]")
        self.port = _free_port()
        self.log = scratch / "libretranslate.log"  # a file: a pipe nobody reads fills and blocks it
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [str(python), "-c", WHOLE_TEXTS, "--host", "127.0.0.1", "--port", str(self.port),
                 "--load-only", f"{spec.src_lang},{spec.tgt_lang}", "--disable-web-ui"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self._wait()

    def _wait(self, seconds: float = 300) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"LibreTranslate stopped: {self.log.read_text()[-2000:]}")
            try:
                url = f"http://127.0.0.1:{self.port}/languages"
                with urllib.request.urlopen(url, timeout=5):
                    return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise SystemExit("LibreTranslate did not answer within 5 minutes")

    def rss_mib(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(status.split("VmRSS:")[1].split()[0]) / 1024

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=120)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
