"""Lexical shortlists on a trained model: agreement with full-vocabulary decoding, quality and
speed, against the list size (k per source token, N frequent).

The IBM Model 1 table is estimated once from the training text; each (k, N) takes its lists
from it. For every setting and precision, the test set is translated with beam search in
batches (2 threads) and its first ``--one-at-a-time`` sentences one by one (1 thread):

- identical: the share of lines equal to the full vocabulary's output;
- BLEU and chrF against the references (sacrebleu);
- kept: the mean of the batches' kept ids (the columns the output layer computes);
- ms per sentence in batches and one at a time, and the speed-up over no shortlist.

    .venv/bin/python bench/shortlist.py -m MODEL_DIR --train-src F --train-tgt F \
        --src TEST.en --ref TEST.fa [--ks 25,50,100] [--frequents 100,500]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import seq2seq.cli  # noqa: F401  first: sets OpenMP's thread waiting as the CLIs do, before torch

# isort: split

import sacrebleu
import torch

from seq2seq.cli.shortlist import text_pairs
from seq2seq.data.lexical import ParallelIds, translation_probabilities
from seq2seq.inference.batches import right_padded, token_batches
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.translator import Translator
from seq2seq.modeldir.format import load_model_dir
from seq2seq.modeldir.shortlist import Shortlist, shortlist_of

from machine import print_machine  # bench/machine.py, beside this script


def numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",")]


def timed(translator: Translator, lines: list[str], options: DecodingOptions, *, one_by_one: bool):
    """(translations, seconds): in token batches, or one sentence a call."""
    start = time.perf_counter()
    if one_by_one:
        found = [translator.translate([line], options=options)[0] for line in lines]
    else:
        found = translator.translate(lines, options=options)
    return found, time.perf_counter() - start


def mean_kept(shortlist: Shortlist | None, translator: Translator, lines: list[str]) -> float:
    """The mean number of kept ids of the test set's batches, formed as ``Translator`` does."""
    if shortlist is None:
        return float(translator.model.cfg.tgt_vocab_size)
    ids = translator.source_ids(lines)
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    batches = token_batches(order, [len(i) for i in ids], DecodingOptions().max_batch_tokens)
    sizes = [len(shortlist.kept(right_padded([ids[i] for i in batch]))) for batch in batches]
    return sum(sizes) / len(sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--model", type=Path, required=True)
    parser.add_argument("--train-src", type=Path, required=True)
    parser.add_argument("--train-tgt", type=Path, required=True)
    parser.add_argument("--src", type=Path, required=True, help="test sources")
    parser.add_argument("--ref", type=Path, required=True, help="test references")
    parser.add_argument("--ks", type=numbers, default=[25, 50, 100])
    parser.add_argument("--frequents", type=numbers, default=[100, 500])
    parser.add_argument("--precisions", default="fp32,int8")
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--one-at-a-time", type=int, default=100, metavar="N")
    args = parser.parse_args()
    torch.manual_seed(0)
    print_machine()
    loaded = load_model_dir(args.model)
    vocab_size = loaded.tgt_tokenizer.vocab_size
    corpus = ParallelIds.collect(
        text_pairs(args.train_src, args.train_tgt, loaded),
        src_vocab=loaded.src_tokenizer.vocab_size, tgt_vocab=vocab_size,
    )  # fmt: skip
    start = time.perf_counter()
    table = translation_probabilities(corpus, tgt_vocab=vocab_size)
    print(f"IBM Model 1, 5 iterations: {time.perf_counter() - start:.1f} s")
    lines = args.src.read_text(encoding="utf-8").splitlines()
    refs = args.ref.read_text(encoding="utf-8").splitlines()
    options = DecodingOptions(beam_size=args.beam)
    vocab = {"src_vocab": loaded.src_tokenizer.vocab_size, "tgt_vocab": vocab_size}
    settings: list[tuple[str, Shortlist | None]] = [("none", None)] + [
        (f"k {k}, N {n}", shortlist_of(table, corpus, k=k, frequent=n, **vocab))
        for k in args.ks for n in args.frequents
    ]  # fmt: skip
    print(f"{args.src}: {len(lines)} lines, beam {args.beam}; one at a time: the first "
          f"{args.one_at_a_time}")  # fmt: skip
    print("precision | shortlist | kept | identical | BLEU | chrF | ms/sent batched | "
          "ms/sent one at a time | speed-up batched, one at a time")  # fmt: skip
    for precision in args.precisions.split(","):
        base = None
        for name, shortlist in settings:
            translator = Translator(load_model_dir(args.model), precision=precision,
                                    shortlist=shortlist)  # fmt: skip
            torch.set_num_threads(2)
            found, batched = timed(translator, lines, options, one_by_one=False)
            torch.set_num_threads(1)
            _, single = timed(translator, lines[: args.one_at_a_time], options, one_by_one=True)
            batched, single = batched / len(lines), single / args.one_at_a_time
            base = base or (found, batched, single)
            same = sum(a == b for a, b in zip(found, base[0], strict=True)) / len(lines)
            bleu = sacrebleu.corpus_bleu(found, [refs]).score
            chrf = sacrebleu.corpus_chrf(found, [refs]).score
            print(f"{precision} | {name} | {mean_kept(shortlist, translator, lines):.0f} | "
                  f"{100 * same:.1f}% | {bleu:.2f} | {chrf:.2f} | {1000 * batched:.2f} | "
                  f"{1000 * single:.2f} | {base[1] / batched:.2f}x, {base[2] / single:.2f}x",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
