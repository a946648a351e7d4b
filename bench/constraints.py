"""What terminology constraints cost: beam search with a glossary against beam search without,
on FLORES-200 dev, in the same run.

The glossary holds FLORES-200's own terms: for each dev sentence, the one-word English glosses
of the en-fa lexicon (``lexicon/wiktionary.fa-en.tsv``) that occur in its source and whose
Persian headword occurs in its reference, as whole words. Printed: target tokens/s of both
searches and their ratio, BLEU and chrF of both against the references, and the share of
(sentence, term) pairs whose term is in the translation.

    .venv/bin/python bench/constraints.py -m runs/en_fa_tiny/averaged [--data-root DIR]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import seq2seq.cli  # noqa: F401  first: sets OpenMP's thread waiting as the CLIs do, before torch

# isort: split

import torch

from seq2seq.data.glossary import Glossary
from seq2seq.data.readers import read_lines
from seq2seq.evaluation.metrics import corpus_scores
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.translator import Translator

from machine import print_machine  # bench/machine.py, beside this script
from rounds import timed_in_rounds

WORD = re.compile(r"\w+")


def flores_glossary(root: Path) -> tuple[list[str], list[str], Glossary]:
    """FLORES-200 dev's sources and references, and the glossary of its lexicon terms."""
    lexicon: dict[str, set[str]] = {}
    for line in read_lines(root / "lexicon" / "wiktionary.fa-en.tsv", allow_tab=True):
        persian, english = line.split("\t")
        if re.fullmatch(r"[a-z]{3,}", english) and WORD.fullmatch(persian):
            lexicon.setdefault(english, set()).add(persian)
    sources = list(read_lines(root / "dev" / "flores200-dev.en"))
    references = list(read_lines(root / "dev" / "flores200-dev.fa"))
    entries: dict[str, str] = {}
    for source, reference in zip(sources, references, strict=True):
        target_words = set(WORD.findall(reference))
        for word in set(WORD.findall(source.lower())) & lexicon.keys():
            found = sorted(lexicon[word] & target_words)
            if found and word not in entries:
                entries[word] = found[0]
    return sources, references, Glossary(list(entries.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--model", type=Path, required=True, help="en-fa model directory")
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data/en-fa"))
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1, help="timed rounds of both")
    args = parser.parse_args()
    torch.set_num_threads(2)
    print_machine()
    sources, references, glossary = flores_glossary(args.data_root)
    phrases = [glossary.targets(source) for source in sources]
    pairs = sum(map(len, phrases))
    with_terms = sum(map(bool, phrases))
    print(f"FLORES-200 dev: {len(sources)} sentences, glossary of {len(glossary.entries)} "
          f"terms, {pairs} (sentence, term) pairs in {with_terms} sentences")  # fmt: skip
    translator = Translator.load(args.model)
    options = DecodingOptions(beam_size=args.beam)
    outputs: dict[str, list[str]] = {}

    def plain() -> None:
        outputs["plain"] = translator.translate(sources, options=options)

    def with_glossary() -> None:
        outputs["glossary"] = translator.translate(sources, options=options, constraints=phrases)

    seconds = timed_in_rounds({"plain": plain, "glossary": with_glossary}, args.repeats)
    normalize = translator.loaded.tgt_normalizer
    for name, texts in outputs.items():
        tokens = sum(map(len, translator.loaded.tgt_tokenizer.encode(texts)))
        scores = corpus_scores(texts, references)
        met = sum(normalize(p) in text for text, ps in zip(texts, phrases, strict=True) for p in ps)
        print(f"  {name:<9} {tokens / seconds[name]:7.0f} target tokens/s   BLEU {scores.bleu:5.2f}"
              f"   chrF {scores.chrf:5.2f}   terms in the output {met / pairs:6.1%}")  # fmt: skip
    speed = seconds["plain"] / seconds["glossary"]
    print(f"  glossary / plain: {speed:.2f}x the sentences/s")


if __name__ == "__main__":
    main()
