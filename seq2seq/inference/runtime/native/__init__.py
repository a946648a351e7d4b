"""Decoding kernels in C, compiled on this machine at first use and called through ctypes:
what a decoding step of a small model costs when each of its operators is dispatched from
Python on its own (docs/benchmarks.md, "Layers in one native call")."""
