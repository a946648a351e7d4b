"""Compiling the native kernels on first use and loading them.

The C sources are compiled with the system's C compiler (``$CC``, else ``cc``) for this CPU
(``-march=native``) into one library in a per-user cache folder, named by a digest of the
sources, the flags, the compiler's version and the CPU's model and flags, so that a home
folder shared by different machines keeps one library per CPU. Without a compiler, or where
compiling fails (with a warning), decoding runs on PyTorch's operators alone.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import warnings
from functools import cache
from pathlib import Path

from seq2seq.common.cpu import cpu_flags, cpuinfo_fields

FOLDER = Path(__file__).parent
SOURCES = tuple(
    FOLDER / name for name in ("attention.c", "int8.c", "layers.c", "scores.c", "top_k.c")
)
HEADERS = (FOLDER / "attend.h", FOLDER / "int8.h", FOLDER / "vectors.h")
FLAGS = ("-O3", "-march=native", "-shared", "-fPIC")
# OpenMP where the compiler has it: the library then shares the libgomp that torch loaded
# (one soname, one runtime: torch's thread pool and its waiting settings); without it, the
# kernels run on one thread.
THREADED = ("-fopenmp",)


def cache_folder() -> Path:
    """Where compiled libraries are kept: ``$XDG_CACHE_HOME/seq2seq/native``, by default
    ``~/.cache/seq2seq/native``."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "seq2seq" / "native"


def _compiler_version(compiler: str) -> str:
    done = subprocess.run([compiler, "--version"], capture_output=True, text=True, check=False)
    return done.stdout


def library_path(compiler: str) -> Path:
    """The cached library for these sources, this compiler and this CPU."""
    digest = hashlib.sha256()
    for part in (
        *(path.read_bytes() for path in SOURCES + HEADERS), " ".join(FLAGS + THREADED).encode(),
        _compiler_version(compiler).encode(),
        platform.machine().encode(), cpuinfo_fields().get("model name", "").encode(),
        " ".join(sorted(cpu_flags())).encode(),
    ):  # fmt: skip
        digest.update(part)
        digest.update(b"\0")
    return cache_folder() / f"kernels-{digest.hexdigest()[:16]}.so"


def compile_library(compiler: str, target: Path) -> None:
    """Compile ``SOURCES`` into ``target`` (with OpenMP, else without), atomically (processes
    that build at once each write their own file and rename it into place).

    Raises:
        RuntimeError: the compiler failed both ways; its first error line is the message.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        built = Path(scratch) / target.name
        for threaded in (THREADED, ()):
            done = subprocess.run(
                [compiler, *FLAGS, *threaded, "-o", str(built), *map(str, SOURCES), "-lm"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode == 0:
                os.replace(built, target)
                return
        errors = [line for line in done.stderr.splitlines() if "error" in line]
        raise RuntimeError((errors or done.stderr.splitlines() or ["failed"])[0])


@cache
def native_library() -> ctypes.CDLL | None:
    """The compiled kernels, built on first use; None where this machine has no C compiler or
    the build fails (with a warning saying why)."""
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        return None
    try:
        path = library_path(compiler)
        if not path.exists():
            compile_library(compiler, path)
        library = ctypes.CDLL(str(path))
    except (OSError, RuntimeError) as error:
        warnings.warn(
            f"native kernels unavailable ({error}); decoding runs on PyTorch's operators",
            RuntimeWarning, stacklevel=2,
        )  # fmt: skip
        return None
    return _declared(library)


def _declared(library: ctypes.CDLL) -> ctypes.CDLL:
    """``library`` with its functions' argument and result types declared."""
    pointer, integer, long = ctypes.c_void_p, ctypes.c_int, ctypes.c_long
    step = library.decoder_layer_step
    step.argtypes = [
        pointer, pointer, integer, integer, pointer, long, integer, pointer, pointer, pointer,
        integer, pointer, integer,
    ]  # fmt: skip
    step.restype = integer
    library.encoder_layer.argtypes = [pointer, pointer, integer, integer, pointer, integer]
    library.encoder_layer.restype = integer
    library.attention.argtypes = [
        pointer, pointer, pointer, pointer, pointer, pointer, pointer, *[integer] * 5, pointer,
        integer,
    ]  # fmt: skip
    library.attention.restype = integer
    library.int8_available.argtypes = []
    library.int8_available.restype = integer
    library.int8_linear.argtypes = [
        pointer, integer, integer, pointer, pointer, pointer, pointer, integer, pointer, integer,
    ]  # fmt: skip
    library.int8_linear.restype = integer
    library.log_softmax.argtypes = [pointer, integer, long, integer]
    library.log_softmax.restype = None
    library.top_k.argtypes = [pointer, integer, long, integer, pointer, pointer]
    library.top_k.restype = None
    library.select_top.argtypes = [
        pointer, integer, integer, long, integer, long, *[pointer] * 7, integer,
    ]  # fmt: skip
    library.select_top.restype = long
    return library
