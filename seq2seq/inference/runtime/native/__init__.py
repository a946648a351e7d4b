"""Decoding kernels in C, compiled on this machine at first use and called through ctypes:
what a decoding step costs PyTorch's operators beyond their arithmetic (docs/benchmarks.md,
"Layers in one native call" and the sections after it). Layers over few rows (``layer``),
attention at decoding steps (``attention``), int8 products (``int8``), the log-softmax
(``normalize``) and beam search's choice of candidates (``selection``)."""
