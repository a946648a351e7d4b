"""Packed against plain linear products, by number of input rows: where packing pays.

For each weight shape of the presets' decoder layers (and an 8000-entry output projection),
times ``F.linear`` and the product through a packed weight (oneDNN on CPUs other than
Intel's, MKL on Intel's, as ``seq2seq.inference.runtime.packed`` chooses) for 1 to 64 input rows,
2 threads, and prints packed time / plain time (below 1: packing is faster). The packed
layers send one row to ``F.linear``; this shows why.

    .venv/bin/python bench/packed_rows.py [--repeats 300]
"""

from __future__ import annotations

import argparse

import seq2seq.cli  # noqa: F401  first: sets OpenMP's thread waiting as the CLIs do, before torch

# isort: split

import torch
import torch.nn.functional as F

from seq2seq.inference.runtime.packed import packing_library

from machine import print_machine  # bench/machine.py, beside this script
from rounds import timed_in_rounds

SHAPES = [(384, 128), (768, 256), (1024, 256), (256, 1024), (8000, 256)]  # (out, in)
ROWS = (1, 2, 4, 8, 16, 32, 64)


def packed_product(weight: torch.Tensor, bias: torch.Tensor, library: str):
    """The raw packed product of ``library``, packed once for every row count (oneDNN) or
    per row count (MKL)."""
    if library == "onednn":
        packed = torch.ops.mkldnn._reorder_linear_weight(weight, None)
        return lambda x: torch.ops.mkldnn._linear_pointwise(x, packed, bias, "none", [], "")
    cache: dict[int, torch.Tensor] = {}

    def mkl(x: torch.Tensor) -> torch.Tensor:
        rows = x.size(0)
        if rows not in cache:
            cache[rows] = torch.ops.mkl._mkl_reorder_linear_weight(weight, rows)
        return torch.ops.mkl._mkl_linear(x, cache[rows], weight, bias, rows)

    return mkl


@torch.no_grad()
def packed_over_plain(weight, bias, packed, x: torch.Tensor, *, repeats: int) -> float:
    """Median time of ``repeats`` packed products over that of as many ``F.linear``."""
    seconds = timed_in_rounds(
        {
            "plain": lambda: [F.linear(x, weight, bias) for _ in range(repeats)],
            "packed": lambda: [packed(x) for _ in range(repeats)],
        },
        3,
    )
    return seconds["packed"] / seconds["plain"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=300, help="products per timing")
    args = parser.parse_args()
    torch.set_num_threads(2)
    print_machine()
    library = packing_library()
    if library is None:
        print("this PyTorch build has no packing operators: nothing to compare")
        return
    print(f"packed ({library}) time / F.linear time, by input rows")
    print("weight (out x in)  " + "".join(f"{rows:>7}" for rows in ROWS))
    torch.manual_seed(0)
    for out_features, in_features in SHAPES:
        weight, bias = torch.randn(out_features, in_features), torch.randn(out_features)
        packed = packed_product(weight, bias, library)
        ratios = []
        for rows in ROWS:
            x = torch.randn(rows, in_features)
            ratios.append(packed_over_plain(weight, bias, packed, x, repeats=args.repeats))
        print(f"{out_features:>6} x {in_features:<10}" + "".join(f"{r:>7.2f}" for r in ratios))


if __name__ == "__main__":
    main()
