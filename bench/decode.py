"""Decoding speed: ours against Hugging Face ``generate`` and CTranslate2, same weights.

One model per preset (random weights, vocabulary 8000) is exported to MarianMTModel and to
CTranslate2. Every system decodes the same 32 source sentences (24 tokens each) to exactly
``--length`` target tokens (eos is forbidden until then, so the work is equal), 2 threads.
Printed: target tokens/s for greedy and beam 5, and the ratios.

    .venv/bin/python bench/decode.py [--length 32] [--repeats 5]
(needs the peers extra: pip install -e ".[peers]")
"""

from __future__ import annotations

import argparse
import copy
import os
import tempfile
from dataclasses import replace

import seq2seq.cli  # noqa: F401  first: sets OpenMP's thread waiting as the CLIs do, before torch

# isort: split

import ctranslate2
import torch
from torch import nn
from transformers import MarianMTModel

from seq2seq.common.special import EOS_ID
from seq2seq.export.formats import ctranslate2_spec, marian_config, marian_state_dict
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.runtime.precision import prepare_for_decoding
from seq2seq.inference.search.beam import beam_search
from seq2seq.inference.search.scorers import ModelScorer
from seq2seq.inference.search.stepwise import greedy_search
from seq2seq.model import Transformer
from seq2seq.training.presets import load_model_config

from machine import print_machine  # bench/machine.py, beside this script
from rounds import timed_in_rounds

VOCAB, BATCH, SRC_LEN = 8000, 32, 24
VOCAB_PIECES = ["<pad>", "<unk>", "<s>", "</s>"] + [f"t{i}" for i in range(4, VOCAB)]


def systems(model: Transformer, src: torch.Tensor, scratch: str, length: int) -> dict:
    """name -> {"greedy": callable, "beam": callable}, each decoding ``length`` tokens."""
    hf = MarianMTModel(marian_config(model.cfg)).eval()
    hf.load_state_dict(marian_state_dict(model), strict=False)
    spec = ctranslate2_spec(model, src_vocab=VOCAB_PIECES, tgt_vocab=VOCAB_PIECES)
    paths = {}
    for quantization in ("float32", "int8"):
        path = f"{scratch}/ct2-{quantization}"
        spec.validate()
        spec.optimize(quantization=quantization)
        os.makedirs(path, exist_ok=True)
        spec.save(path)
        paths[quantization] = path
        spec = ctranslate2_spec(model, src_vocab=VOCAB_PIECES, tgt_vocab=VOCAB_PIECES)
    pieces = [[VOCAB_PIECES[t] for t in row[:-1].tolist()] for row in src]
    fp32, int8 = (prepare_for_decoding(copy.deepcopy(model), precision=p) for p in ("fp32", "int8"))
    exact = DecodingOptions(beam_size=1, max_len_a=0, max_len_b=length, min_len=length)

    def ours(net: nn.Module, *, bf16: bool = False):
        def run(beam: int):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                if beam == 1:
                    return greedy_search(ModelScorer(net), src, options=exact)
                return beam_search(ModelScorer(net), src, options=replace(exact, beam_size=beam))

        return run

    def huggingface(beam: int):
        with torch.no_grad():
            return hf.generate(
                input_ids=src, attention_mask=src.ne(0).long(), num_beams=beam, do_sample=False,
                min_new_tokens=length + 1, max_new_tokens=length + 1, early_stopping=False,
            )  # fmt: skip

    def ctranslate(path: str):
        translator = ctranslate2.Translator(path, device="cpu", intra_threads=2, inter_threads=1)

        def run(beam: int):
            return translator.translate_batch(
                pieces, beam_size=beam, min_decoding_length=length,
                max_decoding_length=length, max_batch_size=BATCH,
            )  # fmt: skip

        return run

    return {
        "ours fp32": ours(fp32),
        "ours bf16": ours(model, bf16=True),
        "ours int8": ours(int8),
        "hf generate fp32": huggingface,
        "ct2 fp32": ctranslate(paths["float32"]),
        "ct2 int8": ctranslate(paths["int8"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=32, help="target tokens per sentence")
    parser.add_argument("--repeats", type=int, default=5, help="rounds of all systems")
    args = parser.parse_args()
    torch.set_num_threads(2)
    print_machine()
    print(f"ctranslate2 {ctranslate2.__version__}; batch {BATCH} x {SRC_LEN} source tokens, "
          f"{args.length} target tokens each")  # fmt: skip
    for preset in ("transformer_tiny", "transformer_base"):
        torch.manual_seed(0)
        cfg = load_model_config(preset, src_vocab_size=VOCAB, tgt_vocab_size=VOCAB)
        model = Transformer(cfg).eval()
        src = torch.randint(4, VOCAB, (BATCH, SRC_LEN))
        src[:, -1] = EOS_ID
        tokens = BATCH * args.length
        with tempfile.TemporaryDirectory() as scratch:
            runs = systems(model, src, scratch, args.length)
            print(f"\n{preset}: target tokens/s (greedy | beam 5)")
            seconds = {
                beam: timed_in_rounds(
                    {name: lambda run=run, beam=beam: run(beam) for name, run in runs.items()},
                    args.repeats,
                )
                for beam in (1, 5)
            }
            speed = {name: [tokens / seconds[beam][name] for beam in (1, 5)] for name in runs}
            for name, (greedy, beam) in speed.items():
                print(f"  {name:<18}{greedy:>9.0f} |{beam:>9.0f}")
        for name in ("ours fp32", "ours bf16", "ours int8"):
            for peer in ("hf generate fp32", "ct2 fp32", "ct2 int8"):
                greedy, beam = (speed[name][i] / speed[peer][i] for i in (0, 1))
                print(f"  {name} / {peer}: greedy {greedy:.2f}, beam 5 {beam:.2f}")


if __name__ == "__main__":
    main()
