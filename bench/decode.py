"""Decoding speed: ours against Hugging Face ``generate`` and CTranslate2, same weights.

One model per preset (random weights, vocabulary 8000) is exported to MarianMTModel and to
CTranslate2. Every system decodes the same source sentences (24 tokens each) to exactly
``--length`` target tokens (eos is forbidden until then, so the work is equal).

- Throughput: 32 sentences in one batch, 2 threads, greedy and beam 5, target tokens/s, for
  the tiny and the base preset.
- Serving shapes, the tiny preset at beam 4, ms per sentence: one sentence at a time with one
  thread each (a server's lone client, an editor), and 100 sentences in one batch with two
  threads each (a batch of requests, a student translating a file).
- Shortlists: the tiny and base presets on 8,000 pieces and the tiny one on 32,000, beam 5,
  64 sentences in a batch (2 threads) and one at a time (1 thread), ms per sentence: ours in
  fp32, bf16 and int8 and CTranslate2 int8, each without and with the same lexical shortlist
  (CTranslate2's as its vocabulary map). Random weights have no alignment to learn from, so
  the lists are drawn: 100 Zipfian target ids per source id and the 100 most frequent ids,
  for Zipfian sources, so that lists overlap as a trained model's do.
Where a shape has two threads, CTranslate2 uses them both ways it offers: one worker of two
threads, and two workers (``inter_threads``) of one thread each taking half of a call's
sentences; each ratio is against the faster. Printed with the ratios, ours against each peer,
measured in the same run; and what an ensemble of two models (the fp32 model twice: the cost,
not the quality) costs against one.

    .venv/bin/python bench/decode.py [--length 32] [--repeats 5]
        [--only throughput|serving|shortlists]
(needs the peers extra: pip install -e ".[peers]")
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import seq2seq.cli  # noqa: F401  first: sets OpenMP's thread waiting as the CLIs do, before torch

# isort: split

import ctranslate2
import torch
from torch import nn
from transformers import MarianMTModel

from seq2seq.common.special import EOS_ID
from seq2seq.export.formats import ctranslate2_spec, marian_config, marian_state_dict
from seq2seq.export.vmap import write_vocabulary_map
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.runtime.precision import prepare_for_decoding
from seq2seq.inference.search.beam import beam_search
from seq2seq.inference.search.scorers import ModelScorer, ensemble
from seq2seq.inference.search.stepwise import greedy_search
from seq2seq.model import Transformer
from seq2seq.modeldir.shortlist import Shortlist
from seq2seq.training.presets import load_model_config

from machine import print_machine  # bench/machine.py, beside this script
from rounds import timed_in_rounds

VOCAB, BATCH, SRC_LEN = 8000, 32, 24
SERVED, ONE_AT_A_TIME = 100, 20  # sentences of the batched serving shape; of the other
LISTED, LISTED_ALONE = 64, 10  # the shortlist part's sentences in a batch; one at a time
K, FREQUENT = 100, 100  # wide lists (seq2seq-shortlist keeps 25 and 100 by default)
SHORTLIST_CASES = (
    ("transformer_tiny", 8000), ("transformer_base", 8000), ("transformer_tiny", 32000),
)  # fmt: skip
LIST_RATIOS = (  # (system, against): the speed-ups that the shortlist part prints
    ("ours fp32 + list", "ours fp32"), ("ours bf16 + list", "ours bf16"),
    ("ours int8 + list", "ours int8"), ("ct2 int8 + list", "ct2 int8"),
    ("ours fp32 + list", "ct2 int8 + list"), ("ours bf16 + list", "ct2 int8 + list"),
    ("ours int8 + list", "ct2 int8 + list"),
)  # fmt: skip


def vocab_pieces(vocab: int) -> list[str]:
    return ["<pad>", "<unk>", "<s>", "</s>"] + [f"t{i}" for i in range(4, vocab)]


def ct2_export(model: Transformer, folder: str, quantization: str) -> str:
    """``model`` converted to CTranslate2 in ``folder``."""
    pieces = vocab_pieces(model.cfg.tgt_vocab_size)
    spec = ctranslate2_spec(model, src_vocab=pieces, tgt_vocab=pieces)
    spec.validate()
    spec.optimize(quantization=quantization)
    os.makedirs(folder, exist_ok=True)
    spec.save(folder)
    return folder


def ours(*nets: nn.Module, length: int, bf16: bool = False, shortlist: Shortlist | None = None):
    """run(src, beam) with our search; with ``shortlist``, over each batch's kept ids."""
    scorer = ensemble([ModelScorer(net) for net in nets], [1 / len(nets)] * len(nets))
    exact = DecodingOptions(beam_size=1, max_len_a=0, max_len_b=length, min_len=length)

    def run(src: torch.Tensor, beam: int):
        restricted = scorer if shortlist is None else scorer.restricted(shortlist.kept(src))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            if beam == 1:
                return greedy_search(restricted, src, options=exact)
            return beam_search(restricted, src, options=replace(exact, beam_size=beam))

    return run


def ctranslate(
    path: str, length: int, *, threads: int, workers: int = 1, use_vmap: bool = False
):  # fmt: skip
    """run(src, beam) with CTranslate2 on the model converted in ``path``: ``workers`` workers
    (``inter_threads``) of ``threads // workers`` threads each, each call's sentences split
    evenly among them."""
    translator = ctranslate2.Translator(
        path, device="cpu", intra_threads=threads // workers, inter_threads=workers
    )

    def run(src: torch.Tensor, beam: int):
        return translator.translate_batch(
            [[f"t{t}" for t in row[:-1].tolist()] for row in src], beam_size=beam,
            min_decoding_length=length, max_decoding_length=length,
            max_batch_size=-(-len(src) // workers), use_vmap=use_vmap,
        )  # fmt: skip

    return run


def ctranslate_both_ways(
    name: str, path: str, length: int, *, threads: int, use_vmap: bool = False
) -> dict:
    """CTranslate2 using the threads both ways it offers: ``name``, one worker of ``threads``
    threads; with more than one thread also ``name (N workers)``, a worker per thread (on
    two-core virtual machines often the faster: docs/benchmarks.md). Ratios take the faster."""
    runs = {name: ctranslate(path, length, threads=threads, use_vmap=use_vmap)}
    if threads > 1:
        runs[f"{name} ({threads} workers)"] = ctranslate(
            path, length, threads=threads, workers=threads, use_vmap=use_vmap
        )
    return runs


def best_of(values: dict[str, float], name: str, *, faster: Callable = max) -> float:
    """The ``faster`` of system ``name``'s value and its variants' (``name (...)``)."""
    return faster(v for n, v in values.items() if n == name or n.startswith(f"{name} ("))


def fastest(seconds: dict[str, float], name: str) -> float:
    """The fewest seconds of system ``name`` and its variants."""
    return best_of(seconds, name, faster=min)


def systems(model: Transformer, scratch: str, length: int, *, threads: int) -> dict:
    """name -> run(src, beam), each decoding every row of ``src`` to ``length`` tokens."""
    hf = MarianMTModel(marian_config(model.cfg)).eval()
    hf.load_state_dict(marian_state_dict(model), strict=False)
    paths = {q: ct2_export(model, f"{scratch}/ct2-{q}", q) for q in ("float32", "int8")}
    fp32, int8 = (prepare_for_decoding(copy.deepcopy(model), precision=p) for p in ("fp32", "int8"))

    def huggingface(src: torch.Tensor, beam: int):
        with torch.no_grad():
            return hf.generate(
                input_ids=src, attention_mask=src.ne(0).long(), num_beams=beam, do_sample=False,
                min_new_tokens=length + 1, max_new_tokens=length + 1, early_stopping=False,
            )  # fmt: skip

    return {
        "ours fp32": ours(fp32, length=length),
        "ours bf16": ours(model, length=length, bf16=True),
        "ours int8": ours(int8, length=length),
        "ours fp32 ensemble of 2": ours(fp32, copy.deepcopy(fp32), length=length),
        "hf generate fp32": huggingface,
        **ctranslate_both_ways("ct2 fp32", paths["float32"], length, threads=threads),
        **ctranslate_both_ways("ct2 int8", paths["int8"], length, threads=threads),
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
                f"{column} {speed[name][i] / best_of(by_column(speed, i), peer):.2f}"
                for i, column in enumerate(columns)
            )
            print(f"  {name} / {peer}: {ratios}")
    costs = ", ".join(
        f"{column} {speed['ours fp32'][i] / speed['ours fp32 ensemble of 2'][i]:.2f}x"
        for i, column in enumerate(columns)
    )
    print(f"  an ensemble of 2 takes, against one model (fp32): {costs}")


def by_column(speed: dict[str, list[float]], column: int) -> dict[str, float]:
    """system -> its value in ``column``."""
    return {name: values[column] for name, values in speed.items()}


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


Shapes = dict[str, tuple[int, int, int]]  # name -> (threads, sentences per call, calls)


def seconds_per_sentence(
    make_runs: Callable[[str, int], dict], src: torch.Tensor, shapes: Shapes, *, beam: int,
    repeats: int,
) -> dict[str, dict[str, float]]:  # fmt: skip
    """shape -> system -> seconds per sentence, the systems made by ``make_runs(scratch
    folder, threads)`` for each shape, decoding the first rows of ``src`` that it takes."""
    seconds = {}
    for shape, (threads, size, calls) in shapes.items():
        torch.set_num_threads(threads)
        with tempfile.TemporaryDirectory() as scratch:
            runs = make_runs(scratch, threads)

            def each(run, size=size, calls=calls):
                for call in range(calls):
                    run(src[call * size : (call + 1) * size], beam)

            timed = timed_in_rounds({n: lambda r=r: each(r) for n, r in runs.items()}, repeats)
        seconds[shape] = {name: t / (size * calls) for name, t in timed.items()}
    return seconds


def print_ms(title: str, seconds: dict[str, dict[str, float]]) -> None:
    """A row of ms per sentence for each system, a column per shape."""
    print(f"\n{title}: ms per sentence ({' | '.join(seconds)})")
    for name in systems_of(seconds):
        row = " |".join(
            f"{by_system[name] * 1000:>9.2f}" if name in by_system else f"{'-':>9}"
            for by_system in seconds.values()
        )
        print(f"  {name:<32}{row}")


def systems_of(seconds: dict[str, dict[str, float]]) -> list[str]:
    """Every system of any shape, in order (a shape of one thread has no worker variants)."""
    return list(dict.fromkeys(name for by_system in seconds.values() for name in by_system))


def serving(length: int, repeats: int) -> None:
    """The tiny preset at beam 4: one sentence at a time (1 thread) and 100 in one batch (2
    threads), ms per sentence."""
    torch.manual_seed(0)
    model = Transformer(load_model_config("transformer_tiny", src_vocab_size=VOCAB,
                                          tgt_vocab_size=VOCAB)).eval()  # fmt: skip
    shapes = {"one at a time": (1, 1, ONE_AT_A_TIME), f"{SERVED} in a batch": (2, SERVED, 1)}
    seconds = seconds_per_sentence(
        lambda scratch, threads: systems(model, scratch, length, threads=threads),
        sources(SERVED), shapes, beam=4, repeats=repeats,
    )  # fmt: skip
    print_ms("transformer_tiny, beam 4", seconds)
    speed = {  # 0 where a shape lacks the system: never the faster
        name: [1 / seconds[shape][name] if name in seconds[shape] else 0.0 for shape in shapes]
        for name in systems_of(seconds)
    }
    print_ratios(speed, tuple(shapes))


def zipf_ids(vocab: int, shape: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
    """Ordinary ids (special ones excluded) drawn by Zipf's law, rank = id - 3: a text's
    tokens, and the tokens that translate a word, are mostly frequent ones."""
    weights = 1.0 / torch.arange(1, vocab - 3, dtype=torch.float64)
    rows = [torch.multinomial(weights, shape[1], generator=generator) for _ in range(shape[0])]
    return torch.stack(rows) + 4


def zipf_sources(count: int, vocab: int) -> torch.Tensor:
    """(count, SRC_LEN) ids, eos last, Zipfian as a text's are."""
    generator = torch.Generator().manual_seed(1)
    weights = 1.0 / torch.arange(1, vocab - 3, dtype=torch.float64)
    src = torch.multinomial(weights, count * SRC_LEN, replacement=True, generator=generator)
    src = (src + 4).view(count, SRC_LEN)
    src[:, -1] = EOS_ID
    return src


def synthetic_shortlist(vocab: int) -> Shortlist:
    """K distinct Zipfian target ids per source id and the FREQUENT most frequent ones: lists
    that overlap as a trained alignment model's do."""
    generator = torch.Generator().manual_seed(2)
    lists = zipf_ids(vocab, (vocab, K), generator)
    lists[:4] = -1
    return Shortlist(lists, torch.arange(4, 4 + FREQUENT))


def listed_systems(model: Transformer, shortlist: Shortlist, scratch: str, length: int,
                   *, threads: int) -> dict:  # fmt: skip
    """Ours in fp32, bf16 and int8, and CTranslate2 in int8, each without and with ``shortlist``
    (CTranslate2's as its vocabulary map)."""
    fp32, int8 = (prepare_for_decoding(copy.deepcopy(model), precision=p) for p in ("fp32", "int8"))
    ct2 = ct2_export(model, f"{scratch}/ct2-int8", "int8")
    pieces = vocab_pieces(model.cfg.tgt_vocab_size)
    write_vocabulary_map(shortlist, Path(ct2), src_pieces=pieces, tgt_pieces=pieces)
    return {
        "ours fp32": ours(fp32, length=length),
        "ours fp32 + list": ours(fp32, length=length, shortlist=shortlist),
        "ours bf16": ours(model, length=length, bf16=True),
        "ours bf16 + list": ours(model, length=length, bf16=True, shortlist=shortlist),
        "ours int8": ours(int8, length=length),
        "ours int8 + list": ours(int8, length=length, shortlist=shortlist),
        **ctranslate_both_ways("ct2 int8", ct2, length, threads=threads),
        **ctranslate_both_ways("ct2 int8 + list", ct2, length, threads=threads, use_vmap=True),
    }


def shortlists(length: int, repeats: int) -> None:
    """Each SHORTLIST_CASES model at beam 5, ours and CTranslate2 without and with the same
    shortlist: LISTED sentences in a batch (2 threads) and one at a time (1 thread), ms per
    sentence."""
    shapes = {f"{LISTED} in a batch": (2, LISTED, 1), "one at a time": (1, 1, LISTED_ALONE)}
    for preset, vocab in SHORTLIST_CASES:
        torch.manual_seed(0)
        config = load_model_config(preset, src_vocab_size=vocab, tgt_vocab_size=vocab)
        model, shortlist = Transformer(config).eval(), synthetic_shortlist(vocab)
        src = zipf_sources(LISTED, vocab)
        seconds = seconds_per_sentence(
            lambda scratch, threads, model=model, shortlist=shortlist: listed_systems(
                model, shortlist, scratch, length, threads=threads
            ),
            src, shapes, beam=5, repeats=repeats,
        )  # fmt: skip
        alone = statistics.mean(len(shortlist.kept(row)) for row in src[:LISTED_ALONE])
        print_ms(f"{preset}, vocabulary {vocab}, beam 5, lists of {K} + {FREQUENT} frequent "
                 f"(ids kept: {len(shortlist.kept(src))} for the batch, {alone:.0f} for a "
                 "sentence alone)", seconds)  # fmt: skip
        for name, against in LIST_RATIOS:
            ratios = ", ".join(
                f"{shape} {fastest(by_system, against) / fastest(by_system, name):.2f}"
                for shape, by_system in seconds.items()
            )
            print(f"  {name} / {against}: {ratios}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=32, help="target tokens per sentence")
    parser.add_argument("--repeats", type=int, default=5, help="rounds of all systems")
    parser.add_argument("--only", choices=("throughput", "serving", "shortlists"),
                        help="one part alone")  # fmt: skip
    args = parser.parse_args()
    print_machine()
    print(f"ctranslate2 {ctranslate2.__version__}; {SRC_LEN} source tokens, "
          f"{args.length} target tokens each")  # fmt: skip
    if args.only in (None, "throughput"):
        for preset in ("transformer_tiny", "transformer_base"):
            throughput(preset, args.length, args.repeats)
    if args.only in (None, "serving"):
        serving(args.length, args.repeats)
    if args.only in (None, "shortlists"):
        shortlists(args.length, args.repeats)


if __name__ == "__main__":
    main()
