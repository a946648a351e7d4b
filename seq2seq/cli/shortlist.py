"""seq2seq-shortlist -m MODEL_DIR: build a translation model's lexical shortlist: for each
source token the target tokens likeliest to translate it (IBM Model 1, by EM on the token ids
of parallel text), and the most frequent target tokens.

The text is the model's training data (the prepared directory its metadata.json records), or
--src and --tgt, normalized and segmented as the model reads them. The shortlist is written to
MODEL_DIR/shortlist.safetensors (or -o FILE), stamped with the model's vocabularies.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

from seq2seq.cli.common import (
    positive,
    refuse_output_onto_input,
    require_both_sides,
    user_errors,
)
from seq2seq.common.errors import DataError
from seq2seq.data.lexical import IdPair, ParallelIds
from seq2seq.data.prepare import META, PreparedData
from seq2seq.data.readers import chunked, read_parallel
from seq2seq.inference.search.vocabulary import check_same_pieces
from seq2seq.modeldir.format import DATA, METADATA, LoadedModel, load_model_dir
from seq2seq.modeldir.shortlist import (
    SHORTLIST,
    Shortlist,
    build_shortlist,
    save_shortlist,
)

CHUNK_LINES = 10_000


def build_parser() -> argparse.ArgumentParser:
    """seq2seq-shortlist's arguments, unparsed (docs/cli.md is rendered from them)."""
    parser = argparse.ArgumentParser(
        prog="seq2seq-shortlist", description=__doc__.split(": ", 1)[1].split("\n\n")[0]
    )
    parser.add_argument("-m", "--model", type=Path, required=True, metavar="MODEL_DIR",
                        help="translation model directory")  # fmt: skip
    parser.add_argument("--src", type=Path, metavar="FILE",
                        help="source text, a sentence a line (default: the model's training "
                        "data)")  # fmt: skip
    parser.add_argument("--tgt", type=Path, metavar="FILE",
                        help="with --src: its translations, line by line")  # fmt: skip
    parser.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help=f"file to write (default: MODEL_DIR/{SHORTLIST})")  # fmt: skip
    parser.add_argument("--k", type=positive, default=25, metavar="K",
                        help="target tokens listed per source token (25: the fastest size that "
                        "kept the recipe's BLEU and chrF, docs/benchmarks.md)")  # fmt: skip
    parser.add_argument("--frequent", type=positive, default=100, metavar="N",
                        help="most frequent target tokens, kept for every sentence")  # fmt: skip
    parser.add_argument("--iterations", type=positive, default=5, metavar="N",
                        help="EM iterations of IBM Model 1")  # fmt: skip
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    require_both_sides(parser, args)
    refuse_output_onto_input(parser, args.output, args.src, args.tgt)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with user_errors():
        loaded = load_model_dir(args.model)
        if args.src is None:
            pairs = training_pairs(args.model, loaded)
        else:
            pairs = text_pairs(args.src, args.tgt, loaded)
        vocab = {
            "src_vocab": loaded.src_tokenizer.vocab_size,
            "tgt_vocab": loaded.tgt_tokenizer.vocab_size,
        }
        corpus = ParallelIds.collect(pairs, **vocab)
        shortlist = build_shortlist(
            corpus, k=args.k, frequent=args.frequent, iterations=args.iterations, **vocab
        )
        output = args.output or args.model / SHORTLIST
        save_shortlist(output, shortlist, src_tokenizer=loaded.src_tokenizer,
                       tgt_tokenizer=loaded.tgt_tokenizer)  # fmt: skip
    print(summary(shortlist, pairs=len(corpus.src_lengths), output=output))


def text_pairs(src: Path, tgt: Path, loaded: LoadedModel) -> Iterator[IdPair]:
    """The (source ids, target ids) of each line pair of ``src`` and ``tgt``, normalized and
    segmented as the model reads them.

    Raises:
        DataError: as ``read_parallel`` (a missing file, files of different line counts, ...);
            or a file is empty.
    """
    for path in (src, tgt):
        if path.is_file() and path.stat().st_size == 0:
            raise DataError(path, "empty file: no sentence pairs to build a shortlist from")
    for chunk in chunked(read_parallel(src, tgt), CHUNK_LINES):
        sources = loaded.src_tokenizer.encode([loaded.src_normalizer(p.src) for p in chunk])
        targets = loaded.tgt_tokenizer.encode([loaded.tgt_normalizer(p.tgt) for p in chunk])
        yield from zip(sources, targets, strict=True)


def training_pairs(directory: Path, loaded: LoadedModel) -> Iterator[IdPair]:
    """The pairs of the training split of the prepared data the model was trained on, as its
    metadata.json records it (``data.prepared``).

    Raises:
        DataError: the metadata records no prepared data, the folder is gone, or its
            vocabularies are not the model's.
    """
    recorded = loaded.metadata.get(DATA, {}).get("prepared")
    if recorded is None:
        raise DataError(directory / METADATA, "records no training data (data.prepared): "
                        "give the text to learn from with --src and --tgt")  # fmt: skip
    if not (Path(recorded) / META).is_file():
        raise DataError(recorded, f"not found: the training data that {directory / METADATA} "
                        "records (data.prepared); give --src and --tgt")  # fmt: skip
    data = PreparedData(recorded)
    why = "a shortlist is built from data in the model's own vocabularies"
    for side, tokenizer in (("src", loaded.src_tokenizer), ("tgt", loaded.tgt_tokenizer)):
        check_same_pieces(tokenizer, data.tokenizer(side), why=why)
    return data.split("train").pairs()


def summary(shortlist: Shortlist, *, pairs: int, output: Path) -> str:
    """What was built from how many pairs, and where it went."""
    sizes = (shortlist.lists >= 0).sum(dim=1)
    listed = int((sizes > 0).sum())
    mean = float(sizes[sizes > 0].float().mean()) if listed else 0.0
    return (
        f"shortlist of {pairs:,} pairs: k {shortlist.lists.shape[1]}, "
        f"{len(shortlist.frequent)} frequent; {listed:,} of {len(sizes):,} source tokens have "
        f"a list, of {mean:.1f} target tokens on average -> {output}"
    )
