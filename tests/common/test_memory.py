"""The entry points keep freed buffers for reuse (glibc's malloc), unless the user chose
malloc's thresholds."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys

import pytest

from seq2seq.common import memory

GLIBC = hasattr(ctypes.CDLL(None), "mallinfo2")

# A process that imports the entry points' package, then maps (hblkhd) and keeps (arena) what
# a 16 MiB buffer costs malloc: printed as "mapped kept", in MiB.
PROBE = """
import ctypes
import seq2seq.cli

libc = ctypes.CDLL(None)
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]
libc.mallinfo2.restype = Info
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
before = libc.mallinfo2()
buffer = libc.malloc(16 << 20)
mapped = libc.mallinfo2().hblkhd - before.hblkhd
libc.free(buffer)
print(mapped >> 20, (libc.mallinfo2().arena - before.arena) >> 20)
"""


def probe(**environment: str) -> tuple[int, int]:
    env = {**os.environ, **environment}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          check=True, env=env)  # fmt: skip
    mapped, kept = done.stdout.split()
    return int(mapped), int(kept)


@pytest.mark.skipif(not GLIBC, reason="malloc's thresholds are glibc's")
def test_the_entry_points_keep_a_freed_buffer_in_the_heap() -> None:
    mapped, kept = probe()
    assert mapped == 0 and kept >= 16  # served from the heap, and still there once freed


@pytest.mark.skipif(not GLIBC, reason="malloc's thresholds are glibc's")
def test_malloc_settings_of_the_users_own_are_left_alone() -> None:
    mapped, _ = probe(GLIBC_TUNABLES="glibc.malloc.check=0")  # glibc's own default
    assert mapped >= 16  # glibc maps a buffer this large afresh
    mapped, _ = probe(MALLOC_MMAP_THRESHOLD_="1048576")
    assert mapped >= 16


def test_keep_freed_memory_says_whether_it_acted(monkeypatch) -> None:
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert memory.keep_freed_memory() is False
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=65536")
    assert memory.keep_freed_memory() is False
