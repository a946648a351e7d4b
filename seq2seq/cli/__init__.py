"""Thin command-line entry points: parse, call the library, print.

Each is its own process, so it chooses how OpenMP's threads wait (``seq2seq.common.threads``)
before torch loads, and how malloc keeps freed memory (``seq2seq.common.memory``); the
library itself leaves its host process's settings alone.
"""

from seq2seq.common.memory import keep_freed_memory
from seq2seq.common.threads import set_openmp_waiting_defaults

set_openmp_waiting_defaults()
keep_freed_memory()
