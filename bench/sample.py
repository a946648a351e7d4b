"""Sampling speed of a language model: ours against Hugging Face GPT-2 ``generate``.

Per preset (``lm_tiny``, ``lm_small``; random weights, vocabulary 8000), a GPT-2 of the same
weight shapes (layers, width, heads, feed-forward size, vocabulary; ReLU, tied output) draws
the same amount: ``--samples`` texts of exactly ``--length`` new tokens (eos forbidden until
then) after a 16-token prompt, top-k 40, both on their key/value caches, 2 threads. Printed:
new tokens/s of each and the ratio, for one text and for a batch.

    .venv/bin/python bench/sample.py [--length 64] [--samples 8] [--repeats 5]
(needs the peers extra: pip install -e ".[peers]")
"""

from __future__ import annotations

import argparse

import seq2seq.cli  # noqa: F401  first: sets OpenMP's thread waiting as the CLIs do, before torch

# isort: split

import torch
from transformers import GPT2Config, GPT2LMHeadModel

from seq2seq.common.special import EOS_ID, PAD_ID
from seq2seq.inference.generate import continue_prompt
from seq2seq.inference.options import Sampling
from seq2seq.inference.runtime.precision import prepare_for_decoding
from seq2seq.inference.search.stepwise import drawing
from seq2seq.model import DecoderOnlyTransformer, TransformerConfig
from seq2seq.training.presets import load_model_config

from machine import print_machine  # bench/machine.py, beside this script
from rounds import timed_in_rounds

VOCAB, PROMPT, TOP_K = 8000, 16, 40


def gpt2_of_the_same_shape(cfg: TransformerConfig) -> GPT2LMHeadModel:
    config = GPT2Config(
        vocab_size=cfg.tgt_vocab_size, n_positions=cfg.max_positions, n_embd=cfg.d_model,
        n_layer=cfg.decoder_layers, n_head=cfg.n_heads, n_inner=cfg.ffn_dim,
        activation_function="relu", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
        bos_token_id=2, eos_token_id=EOS_ID, pad_token_id=PAD_ID, tie_word_embeddings=True,
    )  # fmt: skip
    return GPT2LMHeadModel(config).eval()


def systems(cfg: TransformerConfig, prompt: list[int], *, count: int, length: int) -> dict:
    ours = prepare_for_decoding(DecoderOnlyTransformer(cfg), precision="fp32")
    gpt2 = gpt2_of_the_same_shape(cfg)
    generator = torch.Generator().manual_seed(1)
    choose = drawing(Sampling(top_k=TOP_K), generator=generator)
    input_ids = torch.tensor([[2, *prompt]]).expand(count, -1)

    def our_sampling():
        return continue_prompt(
            ours, prompt, count=count, max_tokens=length, min_len=length, choose=choose
        )

    def huggingface():
        with torch.no_grad():
            return gpt2.generate(
                input_ids=input_ids, attention_mask=torch.ones_like(input_ids), do_sample=True,
                top_k=TOP_K, min_new_tokens=length, max_new_tokens=length,
            )  # fmt: skip

    return {"ours fp32": our_sampling, "gpt2 generate fp32": huggingface}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=64, help="new tokens per text")
    parser.add_argument("--samples", type=int, default=8, help="texts in the batch")
    parser.add_argument("--repeats", type=int, default=5, help="rounds of both systems")
    args = parser.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    print_machine()
    prompt = torch.randint(4, VOCAB, (PROMPT,)).tolist()
    print(f"prompt {PROMPT} tokens, {args.length} new tokens per text, top-k {TOP_K}")
    for preset in ("lm_tiny", "lm_small"):
        cfg = load_model_config(preset, src_vocab_size=VOCAB, tgt_vocab_size=VOCAB)
        print(f"\n{preset}: new tokens/s (1 text | {args.samples} texts)")
        speed = {}
        for count in (1, args.samples):
            runs = systems(cfg, prompt, count=count, length=args.length)
            seconds = timed_in_rounds(runs, args.repeats)
            for name, time in seconds.items():
                speed.setdefault(name, []).append(count * args.length / time)
        for name, (one, batch) in speed.items():
            print(f"  {name:<20}{one:>9.0f} |{batch:>9.0f}")
        one, batch = (speed["ours fp32"][i] / speed["gpt2 generate fp32"][i] for i in (0, 1))
        print(f"  ours / gpt2 generate: 1 text {one:.2f}, {args.samples} texts {batch:.2f}")


if __name__ == "__main__":
    main()
