"""Fine-tuning with LoRA against full fine-tuning: step time and peak memory, base size.

The model is OPUS-MT's en-de architecture as `seq2seq-import` builds it (the base preset with
swish, a logits bias and 58,102 pieces; random weights: the cost, not the quality). One
training step = forward, label-smoothed cross-entropy, backward, Adam update, on the same
random batches (``--batch`` sentences of up to 32 tokens). Each mode runs in a process of its
own, so that its peak RSS is its own: full fine-tuning (every weight trains), and LoRA (rank 8
on the attention and feed-forward projections, all else frozen). Printed with the ratios.

    .venv/bin/python bench/lora.py [--steps 10] [--rank 8] [--batch 32]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import replace

import seq2seq.cli  # noqa: F401  first: sets OpenMP's thread waiting as the CLIs do, before torch

# isort: split

import torch
from model_forward import make_batch  # the same random batches as the forward benchmark

from seq2seq.model import Transformer
from seq2seq.model.lora import add_lora
from seq2seq.training.loss import LabelSmoothedCrossEntropy
from seq2seq.training.presets import load_model_config

from machine import print_machine  # bench/machine.py, beside this script

OPUS_MT_VOCAB = 58_102  # opus-mt-en-de's 58,101 pieces and our second copy of its padding
LENGTH = 32


def child(mode: str, steps: int, rank: int, batch: int) -> None:
    """One mode's median step seconds and peak RSS, as JSON on stdout."""
    torch.manual_seed(0)
    base = load_model_config("transformer_base", src_vocab_size=OPUS_MT_VOCAB,
                             tgt_vocab_size=OPUS_MT_VOCAB)  # fmt: skip
    model = Transformer(replace(base, activation="swish", output_bias=True)).train()
    if mode == "lora":
        add_lora(model, rank=rank, alpha=2 * rank, targets=["attention", "feed_forward"])
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=1e-4, betas=(0.9, 0.98), eps=1e-9)
    loss_fn = LabelSmoothedCrossEntropy(smoothing=0.1)
    generator = torch.Generator().manual_seed(1)
    seconds = []
    for _ in range(steps + 2):  # two warm-up steps
        src, prev, target = make_batch(batch, LENGTH, generator=generator)
        start = time.perf_counter()
        real = target.ne(0)
        loss, _ = loss_fn(model(src, prev, select=real), target[real])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        seconds.append(time.perf_counter() - start)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    count = sum(p.numel() for p in trainable)
    print(json.dumps({"step_s": statistics.median(seconds[2:]), "peak_mib": peak_mib,
                      "trainable": count}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--batch", type=int, default=32, help="sentences per step")
    parser.add_argument("--child", choices=["full", "lora"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.steps, args.rank, args.batch)
        return
    print_machine()
    print(f"base size, {OPUS_MT_VOCAB} pieces, {args.batch} sentences of up to {LENGTH} tokens, "
          f"LoRA rank {args.rank}; median of {args.steps} steps")  # fmt: skip
    results = {}
    for mode in ("full", "lora"):
        command = [sys.executable, __file__, "--child", mode, "--steps", str(args.steps),
                   "--rank", str(args.rank), "--batch", str(args.batch)]  # fmt: skip
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        results[mode] = json.loads(output.splitlines()[-1])
        r = results[mode]
        print(f"  {mode:<5} step {r['step_s']:.3f} s  peak RSS {r['peak_mib']:.0f} MiB  "
              f"trainable {r['trainable'] / 1e6:.2f}M parameters")  # fmt: skip
    full, lora = results["full"], results["lora"]
    print(f"  LoRA / full: step time {lora['step_s'] / full['step_s']:.2f}x, "
          f"peak RSS {lora['peak_mib'] / full['peak_mib']:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
