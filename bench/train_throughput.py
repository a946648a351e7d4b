"""Training throughput: ours in fp32 and bf16-mixed against Hugging Face MarianMT, plus MFU.

One training step = forward, label-smoothed cross-entropy, backward, Adam update, on the same
random right-padded batches for every system. Printed per preset: target tokens/s, achieved
GFLOP/s, MFU against the matmul peaks measured in the same run, and the ratios.

FLOP count of one step (matrix products only, forward + backward = 3x forward):
    6 * (N_enc * S + (N_dec + d_model * V) * T)
    + 12 * d_model * (L_enc * S^2 + L_dec * (T^2 + T * S)) per sentence
where S, T are source/target tokens (padded), N_enc / N_dec the encoder / decoder weight-matrix
parameters, V the vocabulary and L the layer counts.

    .venv/bin/python bench/train_throughput.py [--steps 10] [--loss-curve]
(transformers is an optional extra: pip install -e ".[peers]")
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import seq2seq.cli  # noqa: F401  first: sets OpenMP's thread waiting as the CLIs do, before torch

# isort: split

import torch
from model_forward import make_batch  # the same random batches as the forward benchmark
from torch import Tensor, nn

from seq2seq.common.cpu import cpu_has_amx
from seq2seq.export.formats import marian_config
from seq2seq.model import Transformer, TransformerConfig
from seq2seq.training.loss import LabelSmoothedCrossEntropy
from seq2seq.training.presets import load_model_config

from machine import print_machine  # bench/machine.py, beside this script

VOCAB = 8000
LOSS = LabelSmoothedCrossEntropy(smoothing=0.1)


def matmul_peak(dtype: torch.dtype, size: int = 2048, repeats: int = 10, trials: int = 5) -> float:
    """GFLOP/s of a square matrix product in ``dtype``: the best of ``trials`` timings, so that
    a moment of contention on a shared machine does not lower the peak (and inflate MFU)."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    for _ in range(3):
        a @ b
    best = 0.0
    for _ in range(trials):
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = max(best, 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9)
    return best


def step_flops(cfg: TransformerConfig, src: Tensor, prev: Tensor) -> float:
    """Matrix-product FLOPs of one training step (formula in the module docstring)."""
    d, f = cfg.d_model, cfg.ffn_dim
    n_enc = cfg.encoder_layers * (4 * d * d + 2 * d * f)
    n_dec = cfg.decoder_layers * (8 * d * d + 2 * d * f)
    batch, s_len = src.shape
    t_len = prev.size(1)
    s_tokens, t_tokens = batch * s_len, batch * t_len
    dense = 6 * (n_enc * s_tokens + (n_dec + d * cfg.tgt_vocab_size) * t_tokens)
    attention = (
        12
        * d
        * batch
        * (cfg.encoder_layers * s_len**2 + cfg.decoder_layers * (t_len**2 + t_len * s_len))
    )
    return dense + attention


def marian_peer(cfg: TransformerConfig) -> nn.Module:
    """MarianMTModel of the same shape: ReLU, post-LN, scaled tied embeddings, sinusoids."""
    from transformers import MarianMTModel

    return MarianMTModel(marian_config(cfg))


class MarianAdapter(nn.Module):
    """Gives the peer our call signature: (src, prev_output, select=mask) -> selected logits.

    The peer computes the logits of every position (as its own loss does) and we keep the
    selected rows, so both systems feed the same loss."""

    def __init__(self, peer: nn.Module) -> None:
        super().__init__()
        self.peer = peer

    def forward(self, src: Tensor, prev: Tensor, *, select: Tensor) -> Tensor:
        return self.peer(
            input_ids=src,
            attention_mask=src.ne(0).long(),
            decoder_input_ids=prev,
            decoder_attention_mask=prev.ne(0).long(),
        ).logits[select]


def train_step_seconds(
    model: nn.Module, optimizer: torch.optim.Optimizer, batch, *, bf16: bool
) -> float:
    src, prev, target = batch
    start = time.perf_counter()
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext()
    real = target.ne(0)
    with autocast:  # what TranslationModule.teacher_forced_loss does
        logits = model(src, prev, select=real)
    loss, _ = LOSS(logits, target[real])
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return time.perf_counter() - start


def measure(preset: str, *, batch: int, max_len: int, steps: int, peer: bool) -> dict:
    cfg = load_model_config(preset, src_vocab_size=VOCAB, tgt_vocab_size=VOCAB)
    torch.manual_seed(0)
    systems = {"ours fp32": (Transformer(cfg), False), "ours bf16": (Transformer(cfg), True)}
    if peer:
        systems["marian fp32"] = (MarianAdapter(marian_peer(cfg)), False)
    optimizers = {  # the same optimizer for every system: conf/optimizer/adam.yaml
        name: torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.98), eps=1e-9, fused=True)
        for name, (model, _) in systems.items()
    }
    generator = torch.Generator().manual_seed(0)
    batches = [make_batch(batch, max_len, generator=generator) for _ in range(steps + 1)]
    seconds: dict[str, list[float]] = {name: [] for name in systems}
    for index, data in enumerate(batches):
        for name, (model, bf16) in systems.items():
            elapsed = train_step_seconds(model.train(), optimizers[name], data, bf16=bf16)
            if index:
                seconds[name].append(elapsed)
    tokens = sum(int(b[2].ne(0).sum()) for b in batches[1:]) / steps
    flops = statistics.mean(step_flops(cfg, b[0], b[1]) for b in batches[1:])
    return {
        name: {"tok/s": tokens / statistics.median(s), "gflops": flops / statistics.median(s) / 1e9}
        for name, s in seconds.items()
    }


def loss_curves(steps: int) -> dict[str, list[float]]:
    """train/loss of the demo experiment for ``steps`` updates in fp32 and in bf16-mixed."""
    curves = {}
    script = Path(sys.executable).parent / "seq2seq-train"
    with tempfile.TemporaryDirectory() as scratch:
        for precision in ("32-true", "bf16-mixed"):
            out = Path(scratch) / precision
            subprocess.run(
                [str(script), "experiment=demo", f"paths.output_dir={out}",
                 f"paths.data_dir={scratch}/data", f"paths.prepared_dir={scratch}/prepared",
                 f"trainer.max_steps={steps}", f"trainer.precision={precision}",
                 "trainer.log_every_n_steps=1", "test_after_training=false",
                 "trainer.val_check_interval=100000", "trainer.enable_progress_bar=false"],
                check=True, capture_output=True,
            )  # fmt: skip
            with (out / "logs" / "metrics.csv").open() as stream:
                rows = [r for r in csv.DictReader(stream) if r.get("train/loss")]
            curves[precision] = [float(r["train/loss"]) for r in rows]
    return curves


def relative_gap(reference: list[float], other: list[float], window: int) -> float:
    """Largest |mean(other) - mean(reference)| / mean(reference) over consecutive windows."""
    gaps = []
    for start in range(0, len(reference) - window + 1, window):
        ref = sum(reference[start : start + window])
        gaps.append(abs(sum(other[start : start + window]) - ref) / ref)
    return max(gaps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="timed steps per system")
    parser.add_argument("--loss-curve", action="store_true", help="also compare 200 demo steps")
    args = parser.parse_args()
    print_machine()
    try:
        import transformers

        peer = True
        print(f"transformers {transformers.__version__} (MarianMTModel, attn sdpa)")
    except ImportError:
        peer = False
        print("transformers not installed: no peer column (pip install -e '.[peers]')")
    peaks = {"fp32": matmul_peak(torch.float32), "bf16": matmul_peak(torch.bfloat16)}
    print(f"matmul peak: fp32 {peaks['fp32']:.0f} GFLOP/s, bf16 {peaks['bf16']:.0f} GFLOP/s "
          f"(AMX: {'yes' if cpu_has_amx() else 'no'})")  # fmt: skip
    for preset, batch, max_len in (("transformer_tiny", 64, 32), ("transformer_base", 32, 32)):
        results = measure(preset, batch=batch, max_len=max_len, steps=args.steps, peer=peer)
        print(f"\n{preset}, batch {batch}x{max_len}")
        for name, r in results.items():
            peak = peaks["bf16" if "bf16" in name else "fp32"]
            print(f"  {name:<12} {r['tok/s']:>8.0f} tok/s {r['gflops']:>7.1f} GFLOP/s "
                  f"MFU {r['gflops'] / peak:>5.1%}")  # fmt: skip
        base = results["ours fp32"]["tok/s"]
        print(f"  ours bf16 / ours fp32: {results['ours bf16']['tok/s'] / base:.2f}")
        if peer:
            print(f"  ours fp32 / marian fp32: {base / results['marian fp32']['tok/s']:.2f}")
    if args.loss_curve:
        curves = loss_curves(200)
        fp32, bf16 = curves["32-true"], curves["bf16-mixed"]
        n = min(len(fp32), len(bf16))
        print(
            f"\ndemo, first 200 steps, final train/loss: fp32 {fp32[-1]:.3f}, bf16 {bf16[-1]:.3f}"
        )
        fp32, bf16 = fp32[:n], bf16[:n]
        print(f"relative gap of bf16 to fp32: whole curve {relative_gap(fp32, bf16, n):.2%}, "
              f"largest 50-step window {relative_gap(fp32, bf16, 50):.2%}, "
              f"largest 10-step window {relative_gap(fp32, bf16, 10):.2%}, "
              f"largest single step {relative_gap(fp32, bf16, 1):.2%}")  # fmt: skip


if __name__ == "__main__":
    main()
