"""How OpenMP's thread waiting changes speed, on a free machine and with one core taken.

Each setting runs in a fresh process (the variables must be set before torch loads OpenMP):
passive waiting alone, the project's default (passive plus a 10,000-spin wait, about 0.1 ms)
and libgomp's own default spin (300,000, about 3 ms). Workloads: greedy decoding of 32
sentences with the base preset (random weights, 32 target tokens each) and 10 training steps
of the tiny preset. "busy" runs the same with a busy loop holding one of the cores, as another
user's job on a shared machine would.

    .venv/bin/python bench/thread_waiting.py
"""

from __future__ import annotations

import os
import subprocess
import sys

from machine import print_machine  # bench/machine.py, beside this script

SETTINGS = {
    "passive only": {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "0"},
    "passive + 10k spins (default)": {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "10000"},
    "libgomp default spin (300k)": {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "300000"},
}

WORKLOAD = """
import statistics, time
import torch
from model_forward import make_batch
from train_throughput import train_step_seconds
from seq2seq.common.special import EOS_ID
from seq2seq.inference.search.stepwise import greedy_search
from seq2seq.model import Transformer
from seq2seq.training.presets import load_model_config
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.search.scorers import ModelScorer

torch.manual_seed(0)
cfg = load_model_config("transformer_base", src_vocab_size=8000, tgt_vocab_size=8000)
model = Transformer(cfg).eval()
src = torch.randint(4, 8000, (32, 24))
src[:, -1] = EOS_ID
times = []
for _ in range(4):
    start = time.perf_counter()
    exact = DecodingOptions(beam_size=1, max_len_a=0, max_len_b=32, min_len=32)
    greedy_search(ModelScorer(model), src, options=exact)
    times.append(time.perf_counter() - start)
decode = 32 * 32 / statistics.median(times[1:])

cfg = load_model_config("transformer_tiny", src_vocab_size=8000, tgt_vocab_size=8000)
model = Transformer(cfg).train()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, fused=True)
generator = torch.Generator().manual_seed(0)
batches = [make_batch(64, 32, generator=generator) for _ in range(11)]
times = [train_step_seconds(model, optimizer, batch, bf16=False) for batch in batches]
print(f"{decode:.0f} {statistics.median(times[1:]) * 1000:.0f}")
"""


def measure(setting: dict[str, str]) -> tuple[str, str]:
    """(decode tok/s, train ms/step) of the workload in a fresh process under ``setting``."""
    env = {**os.environ, **setting}
    bench = os.path.dirname(os.path.abspath(__file__))
    result = subprocess.run(
        [sys.executable, "-c", WORKLOAD], env=env, cwd=bench, check=True,
        capture_output=True, text=True,
    )  # fmt: skip
    decode, train = result.stdout.split()
    return decode, train


def main() -> None:
    print_machine()
    print("base greedy decode (tok/s, higher is better) | tiny train step (ms, lower is better)")
    for condition in ("free", "busy"):
        spinner = None
        if condition == "busy":
            spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            for name, setting in SETTINGS.items():
                decode, train = measure(setting)
                print(f"  {condition:<5} {name:<30} {decode:>6} tok/s | {train:>5} ms")
        finally:
            if spinner is not None:
                spinner.kill()
                spinner.wait()


if __name__ == "__main__":
    main()
