"""Thin command-line entry points: parse, call the library, print.

Each is its own process, so it chooses how OpenMP's threads wait (``seq2seq.common.threads``)
before torch loads; the library itself leaves its host process's environment alone.
"""

from seq2seq.common.threads import set_openmp_waiting_defaults

set_openmp_waiting_defaults()
