"""Forward+backward speed of our Transformer against torch.nn.Transformer of the same shape.

Both models get the same embeddings, sinusoidal positions, tied output projection, loss and
batches (random tokens, random lengths, right-padded); only the encoder/decoder stacks differ.
Dropout is 0.1 everywhere on both sides (nn.Transformer applies it to attention probabilities,
the feed-forward activation and each residual branch, so ours does the same here).
The figure is target tokens/s and the ratio ours / torch from the same run.

    .venv/bin/python bench/model_forward.py [--steps 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import seq2seq.cli  # noqa: F401  first: sets OpenMP's thread waiting as the CLIs do, before torch

# isort: split

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seq2seq.model import PositionalEncoding, TokenEmbedding, Transformer, TransformerConfig
from seq2seq.training.presets import load_model_config

from machine import print_machine  # bench/machine.py, beside this script

PAD = 0
VOCAB = 8000


class TorchTransformerPeer(nn.Module):
    """torch.nn.Transformer wrapped with the same embeddings and output layer as ours."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.embed = TokenEmbedding(cfg.src_vocab_size, cfg.d_model, pad_id=PAD)
        self.positions = PositionalEncoding(cfg.max_positions, cfg.d_model)
        self.dropout = cfg.dropout
        self.transformer = nn.Transformer(
            d_model=cfg.d_model,
            nhead=cfg.n_heads,
            num_encoder_layers=cfg.encoder_layers,
            num_decoder_layers=cfg.decoder_layers,
            dim_feedforward=cfg.ffn_dim,
            dropout=cfg.dropout,
            batch_first=True,
        )

    def _embed(self, tokens: Tensor) -> Tensor:
        x = self.embed(tokens) + self.positions(tokens.size(1))
        return F.dropout(x, self.dropout, self.training)

    def forward(self, src: Tensor, prev: Tensor) -> Tensor:
        src_pad, tgt_pad = src.eq(PAD), prev.eq(PAD)
        causal = torch.ones(prev.size(1), prev.size(1), dtype=torch.bool).triu(1)  # True = hidden
        hidden = self.transformer(
            self._embed(src),
            self._embed(prev),
            tgt_mask=causal,
            src_key_padding_mask=src_pad,
            tgt_key_padding_mask=tgt_pad,
            memory_key_padding_mask=src_pad,
            tgt_is_causal=True,
        )
        return F.linear(hidden, self.embed.weight)


def make_batch(
    batch: int, max_len: int, *, generator: torch.Generator
) -> tuple[Tensor, Tensor, Tensor]:
    """Random right-padded (src, prev_output, target), lengths uniform in [max_len/2, max_len]."""

    def padded(lengths: Tensor) -> Tensor:
        tokens = torch.randint(4, VOCAB, (batch, max_len), generator=generator)
        positions = torch.arange(max_len)[None, :]
        return tokens.masked_fill(positions >= lengths[:, None], PAD)

    src = padded(torch.randint(max_len // 2, max_len + 1, (batch,), generator=generator))
    target = padded(torch.randint(max_len // 2, max_len + 1, (batch,), generator=generator))
    prev = torch.cat([torch.full((batch, 1), 2), target[:, :-1]], dim=1)
    return src, prev, target


def step_seconds(model: nn.Module, batch: tuple[Tensor, Tensor, Tensor]) -> float:
    """Wall time of one forward + backward pass with label-free cross-entropy."""
    src, prev, target = batch
    start = time.perf_counter()
    logits = model(src, prev)
    loss = F.cross_entropy(logits.flatten(0, 1), target.flatten(), ignore_index=PAD)
    loss.backward()
    model.zero_grad(set_to_none=True)
    return time.perf_counter() - start


def measure(preset: str, *, batch: int, max_len: int, steps: int) -> tuple[float, float]:
    """Target tokens/s of (ours, torch.nn.Transformer), steps interleaved to share any drift."""
    cfg = load_model_config(preset, src_vocab_size=VOCAB, tgt_vocab_size=VOCAB)
    cfg = replace(cfg, attention_dropout=cfg.dropout, activation_dropout=cfg.dropout)
    torch.manual_seed(0)
    systems = {"ours": Transformer(cfg).train(), "torch": TorchTransformerPeer(cfg).train()}
    generator = torch.Generator().manual_seed(0)
    batches = [make_batch(batch, max_len, generator=generator) for _ in range(steps + 1)]
    times: dict[str, list[float]] = {name: [] for name in systems}
    for index, data in enumerate(batches):
        for name, model in systems.items():
            seconds = step_seconds(model, data)
            if index:  # the first batch warms up allocators and kernels
                times[name].append(seconds / int(data[2].ne(PAD).sum()))
    return tuple(1.0 / statistics.median(times[name]) for name in systems)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5, help="timed steps per system and preset")
    args = parser.parse_args()
    print_machine()
    print(f"{'preset':<18}{'batch':>10}{'ours tok/s':>12}{'torch tok/s':>13}{'ratio':>8}")
    for preset, batch, max_len in (("transformer_tiny", 64, 32), ("transformer_base", 32, 32)):
        ours, peer = measure(preset, batch=batch, max_len=max_len, steps=args.steps)
        shape = f"{batch}x{max_len}"
        print(f"{preset:<18}{shape:>10}{ours:>12.0f}{peer:>13.0f}{ours / peer:>8.2f}")


if __name__ == "__main__":
    main()
