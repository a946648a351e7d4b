"""Decoding speed: ours against Hugging Face ``generate`` and CTranslate2, same weights.

One model per preset (random weights, vocabulary 8000) is exported to MarianMTModel and to
CTranslate2. Every system decodes the same source sentences (24 tokens each) to exactly
``--length`` target tokens (eos is forbidden until then, so the work is equal).

- Throughput: 32 sentences in one batch, 2 threads, greedy and beam 5, target tokens/s, for
  the tiny and the base preset.
- Serving shapes, the tiny preset at beam 4, ms per sentence: one sentence at a time with one
  thread each (a server's lone client, an editor), and 100 sentences in one batch with two
  threads each (a batch of requests, a student translating a file).
Printed with the ratios, ours against each peer, measured in the same run; and what an
ensemble of two models (the fp32 model twice: the cost, not the quality) costs against one.

    .venv/bin/python bench/decode.py [--length 32] [--repeats 5] [--only serving]
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
from seq2seq.inference.search.scorers import ModelScorer, ensemble
from seq2seq.inference.search.stepwise import greedy_search
from seq2seq.model import Transformer
from seq2seq.training.presets import load_model_config

from machine import print_machine  # bench/machine.py, beside this script
from rounds import timed_in_rounds

VOCAB, BATCH, SRC_LEN = 8000, 32, 24
SERVED, ONE_AT_A_TIME = 100, 20  # sentences of the batched serving shape; of the other
VOCAB_PIECES = ["<pad>", "<unk>", "<s>", "</s>"] + [f"t{i}" for i in range(4, VOCAB)]


def systems(model: Transformer, scratch: str, length: int, *, threads: int) -> dict:
    """name -> run(src, beam), each decoding every row of ``src`` to ``length`` tokens."""
    hf = MarianMTModel(marian_config(model.cfg)).eval()
    hf.load_state_dict(marian_state_dict(model), strict=False)
    paths = {}
    for quantization in ("float32", "int8"):
        spec = ctranslate2_spec(model, src_vocab=VOCAB_PIECES, tgt_vocab=VOCAB_PIECES)
        spec.validate()
        spec.optimize(quantization=quantization)
        paths[quantization] = f"{scratch}/ct2-{quantization}"
        os.makedirs(paths[quantization], exist_ok=True)
        spec.save(paths[quantization])
    fp32, int8 = (prepare_for_decoding(copy.deepcopy(model), precision=p) for p in ("fp32", "int8"))
    exact = DecodingOptions(beam_size=1, max_len_a=0, max_len_b=length, min_len=length)

    def ours(*nets: nn.Module, bf16: bool = False):
        scorer = ensemble([ModelScorer(net) for net in nets], [1 / len(nets)] * len(nets))

        def run(src: torch.Tensor, beam: int):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                if beam == 1:
                    return greedy_search(scorer, src, options=exact)
                return beam_search(scorer, src, options=replace(exact, beam_size=beam))

        return run

    def huggingface(src: torch.Tensor, beam: int):
        with torch.no_grad():
            return hf.generate(
                input_ids=src, attention_mask=src.ne(0).long(), num_beams=beam, do_sample=False,
                min_new_tokens=length + 1, max_new_tokens=length + 1, early_stopping=False,
            )  # fmt: skip

    def ctranslate(path: str):
        translator = ctranslate2.Translator(
            path, device="cpu", intra_threads=threads, inter_threads=1
        )

        def run(src: torch.Tensor, beam: int):
            pieces = [[VOCAB_PIECES[t] for t in row[:-1].tolist()] for row in src]
            return translator.translate_batch(
                pieces, beam_size=beam, min_decoding_length=length,
                max_decoding_length=length, max_batch_size=len(pieces),
            )  # fmt: skip

        return run

    return {
        "ours fp32": ours(fp32),
        "ours bf16": ours(model, bf16=True),
        "ours int8": ours(int8),
        "ours fp32 ensemble of 2": ours(fp32, copy.deepcopy(fp32)),
        "hf generate fp32": huggingface,
        "ct2 fp32": ctranslate(paths["float32"]),
        "ct2 int8": ctranslate(paths["int8"]),
    }


def sources(count: int) -> torch.Tensor:
    """(count, SRC_LEN) random ids, eos last."""
    src = torch.randint(4, VOCAB, (count, SRC_LEN))
    src[:, -1] = EOS_ID
    return src


def print_ratios(speed: dict[str, list[float]], columns: tuple[str, ...]) -> None:
    """Each of our modes against each peer, higher is faster for us."""
    for name in ("ours fp32", "ours bf16", "ours int8"):
        for peer in ("hf generate fp32", "ct2 fp32", "ct2 int8"):
            ratios = ", ".join(
                f"{column} {speed[name][i] / speed[peer][i]:.2f}"
                for i, column in enumerate(columns)
            )
            print(f"  {name} / {peer}: {ratios}")
    costs = ", ".join(
        f"{column} {speed['ours fp32'][i] / speed['ours fp32 ensemble of 2'][i]:.2f}x"
        for i, column in enumerate(columns)
    )
    print(f"  an ensemble of 2 takes, against one model (fp32): {costs}")


def throughput(preset: str, length: int, repeats: int) -> None:
    """32 sentences in one batch, 2 threads: target tokens/s at greedy and beam 5."""
    torch.set_num_threads(2)
    torch.manual_seed(0)
    model = Transformer(load_model_config(preset, src_vocab_size=VOCAB, tgt_vocab_size=VOCAB))
    src, tokens = sources(BATCH), BATCH * length
    with tempfile.TemporaryDirectory() as scratch:
        runs = systems(model.eval(), scratch, length, threads=2)
        print(f"\n{preset}, {BATCH} sentences in a batch: target tokens/s (greedy | beam 5)")
        seconds = {
            beam: timed_in_rounds(
                {name: lambda run=run, beam=beam: run(src, beam) for name, run in runs.items()},
                repeats,
            )
            for beam in (1, 5)
        }
    speed = {name: [tokens / seconds[beam][name] for beam in (1, 5)] for name in runs}
    for name, (greedy, beam) in speed.items():
        print(f"  {name:<24}{greedy:>9.0f} |{beam:>9.0f}")
    print_ratios(speed, ("greedy", "beam 5"))


def serving(length: int, repeats: int) -> None:
    """The tiny preset at beam 4: one sentence at a time (1 thread) and 100 in one batch (2
    threads), ms per sentence."""
    torch.manual_seed(0)
    model = Transformer(load_model_config("transformer_tiny", src_vocab_size=VOCAB,
                                          tgt_vocab_size=VOCAB)).eval()  # fmt: skip
    src = sources(SERVED)
    shapes = {  # name -> (threads, sentences per call, calls)
        "one at a time": (1, 1, ONE_AT_A_TIME),
        f"{SERVED} in a batch": (2, SERVED, 1),
    }
    seconds = {}
    for shape, (threads, size, calls) in shapes.items():
        torch.set_num_threads(threads)
        with tempfile.TemporaryDirectory() as scratch:
            runs = systems(model, scratch, length, threads=threads)

            def each(run, size=size, calls=calls):
                for call in range(calls):
                    run(src[call * size : (call + 1) * size], 4)

            timed = timed_in_rounds({n: lambda r=r: each(r) for n, r in runs.items()}, repeats)
        seconds[shape] = {name: t / (size * calls) for name, t in timed.items()}
    print(f"\ntransformer_tiny, beam 4: ms per sentence ({' | '.join(shapes)})")
    for name in runs:
        row = " |".join(f"{seconds[shape][name] * 1000:>9.2f}" for shape in shapes)
        print(f"  {name:<24}{row}")
    speed = {name: [1 / seconds[shape][name] for shape in shapes] for name in runs}
    print_ratios(speed, tuple(shapes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=32, help="target tokens per sentence")
    parser.add_argument("--repeats", type=int, default=5, help="rounds of all systems")
    parser.add_argument("--only", choices=("throughput", "serving"), help="one part alone")
    args = parser.parse_args()
    print_machine()
    print(f"ctranslate2 {ctranslate2.__version__}; {SRC_LEN} source tokens, "
          f"{args.length} target tokens each")  # fmt: skip
    if args.only != "serving":
        for preset in ("transformer_tiny", "transformer_base"):
            throughput(preset, args.length, args.repeats)
    if args.only != "throughput":
        serving(args.length, args.repeats)


if __name__ == "__main__":
    main()
