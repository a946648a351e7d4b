"""CTranslate2 as a decoding engine for plain translation: our model converted once (cached
beside it), checked against our decoder, then decoding what needs nothing of ours.

CTranslate2 is the best-kept CPU inference engine for this architecture, and the conversion is
exact (``check_export``): its greedy translations are ours. It decodes greedy and beam search,
n-best texts included; what only our decoder does (scores equal to ``seq2seq-score``'s,
sampling with our seeds, prefixes, constraints, fusion, ensembles, attention maps) stays with
the ``Translator``. A translator with a lexical shortlist gives CTranslate2 the same list as
its vocabulary map (``export.vmap``), so that both decode over the same target tokens. Beam
search ranks finished hypotheses by CTranslate2's length penalty (``log P / length ** alpha``)
where ours is GNMT's; greedy search has no penalty to differ by.

CTranslate2 takes one length limit per call, where ours is each sentence's own: a request's
sentences are decoded in one call per limit, each at its own, so that no output depends on
the limits of the others in its batch. The calls go to CTranslate2's workers, one per thread,
each decoding on one thread, and a call's sentences are shared among them: many small calls
run side by side, and a lone sentence is not split across threads, which on small virtual
machines costs more in waiting than it saves (docs/benchmarks.md, "The CTranslate2 engine").
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch

from seq2seq.common.errors import DataError
from seq2seq.common.special import EOS_ID
from seq2seq.export.check import check_export
from seq2seq.export.formats import export_ctranslate2, never_output_pieces
from seq2seq.export.openmp import torch_threads_kept
from seq2seq.export.vmap import with_vocabulary_map
from seq2seq.inference.batches import right_padded
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.search.stepwise import max_lengths
from seq2seq.inference.translator import DEFAULT, Candidate, Translator
from seq2seq.modeldir.format import WEIGHTS, LoadedModel, load_model_dir

CACHE = "ctranslate2"  # the converted model's folder inside the model directory
STAMP = "seq2seq-source.json"  # in it: what it was converted from
CONVERSIONS_VARIABLE = "SEQ2SEQ_CONVERSIONS"  # a folder for every model's conversions instead
CHECK_LINES, CHECK_PIECES, CHECK_SEED = 8, 12, 0  # the agreement check's random sentences
COMPUTE_TYPES = {"fp32": "float32", "int8": "int8_float32"}


class CTranslate2Engine:
    """A ``Translator``'s model decoded by CTranslate2: ``translate_nbest`` as the
    Translator's, for options without sampling, from the same source tokens and to the same
    length limits."""

    def __init__(self, translator: Translator, converted: Path, *, precision: str) -> None:
        self.translator = translator
        self._vmap_view = None
        if translator.shortlist is not None:
            self._vmap_view = with_vocabulary_map(
                converted, translator.shortlist,
                src_pieces=translator.loaded.src_tokenizer.all_pieces(),
                tgt_pieces=translator.loaded.tgt_tokenizer.all_pieces(),
            )  # fmt: skip
            converted = Path(self._vmap_view.name)
        self.converted = converted  # the folder CTranslate2 reads
        self.workers = torch.get_num_threads()  # each on one thread: see the module's docstring
        self.ct2 = cpu_translator(converted, precision=precision, workers=self.workers, threads=1)
        self._suppressed = never_output_pieces(translator.loaded.tgt_tokenizer)
        prompt = translator.prompts[0]  # a multilingual model's target tag: CTranslate2's prefix
        self._prefix = translator.loaded.tgt_tokenizer.pieces(list(prompt))

    @classmethod
    def start(cls, translator: Translator, model_dir: Path, *, precision: str) -> CTranslate2Engine:
        """Convert ``model_dir`` (or take its cached conversion), check that the conversion's
        greedy translations are our fp32 model's, and start the engine for ``translator``
        (whose model the directory holds) in ``precision`` ("fp32" or "int8").

        Raises:
            DataError: the conversion translates some check sentence otherwise than we do.
        """
        fresh = load_model_dir(model_dir)  # fp32 and unprepared: the translator's is changed
        converted = convert(fresh, Path(model_dir))
        sentences = check_sentences(fresh)
        check = check_export(fresh, converted, kind="ctranslate2", sentences=sentences)
        if check.agreement < 1.0:
            raise DataError(
                model_dir,
                f"its CTranslate2 conversion translates {check.agreement:.0%} of "
                f"{check.lines} check sentences as ours does: serve it with --engine torch",
            )
        return cls(translator, converted, precision=precision)

    def translate_nbest(
        self,
        sentences: list[str],
        *,
        options: DecodingOptions = DEFAULT,
        on_truncate: Callable[[int], None] | None = None,
        prefixes: list[str] | None = None,
        constraints: list[list[str]] | None = None,
        on_impossible: Callable[[int], None] | None = None,
    ) -> list[list[Candidate]]:
        """Up to ``options.nbest`` candidates per sentence, best first, without scores ("" for
        an empty sentence): ``Translator.translate_nbest`` for the requests without
        sampling, prefixes or constraints (``on_impossible`` is never called)."""
        if options.sampling is not None or prefixes is not None or constraints is not None:
            raise ValueError("the CTranslate2 engine does not sample, force prefixes or meet "
                             "constraints: use the Translator")  # fmt: skip
        ids = self.translator.source_ids(sentences, on_truncate)
        results: list[list[Candidate]] = [[Candidate("", None)] for _ in sentences]
        todo = [i for i, row in enumerate(ids) if len(row) > 1]
        if not todo:
            return results
        by_limit: dict[int, list[int]] = {}  # limit -> its sentences' indices
        for index, limit in zip(todo, self._limits([ids[i] for i in todo], options), strict=True):
            by_limit.setdefault(limit, []).append(index)
        pending = []  # (sentence index, its future n-best), every limit's call submitted first
        for limit, mine in sorted(by_limit.items()):
            found = self._submit([ids[i] for i in mine], options, limit=limit)
            pending += zip(mine, found, strict=True)
        decode = self.translator.loaded.tgt_tokenizer.decode_pieces
        for index, future in pending:
            hypotheses = [pieces[len(self._prefix) :] for pieces in future.result().hypotheses]
            results[index] = [Candidate(text, None) for text in decode(hypotheses)]
        return results

    def _submit(self, ids: list[list[int]], options: DecodingOptions, *, limit: int) -> list:
        """CTranslate2's future n-best target pieces of each source (ids, eos last), at most
        ``limit`` each (``AsyncTranslationResult``s). The sources are shared among the
        workers, in batches of at most ``options.max_batch_tokens`` tokens, padding included;
        with a shortlist, whose kept ids are a batch's union of lists, not shared out. A
        multilingual model's target tag goes first as a prefix, which CTranslate2's lengths
        count and its hypotheses hold."""
        fitting = options.max_batch_tokens // max(len(row) for row in ids)
        per_worker = -(-len(ids) // (1 if self._vmap_view else self.workers))
        pieces = self.translator.loaded.src_tokenizer
        prefix = len(self._prefix)
        return self.ct2.translate_batch(
            [pieces.pieces(row[:-1]) for row in ids],  # CTranslate2 adds eos itself
            target_prefix=[self._prefix] * len(ids) if prefix else None,
            beam_size=options.beam_size, num_hypotheses=options.nbest,
            length_penalty=options.alpha, max_decoding_length=limit + prefix,
            min_decoding_length=options.min_len + prefix,
            max_batch_size=max(1, min(per_worker, fitting)),
            use_vmap=self._vmap_view is not None, asynchronous=True,
            suppress_sequences=self._suppressed,
        )  # fmt: skip

    def _limits(self, ids: list[list[int]], options: DecodingOptions) -> list[int]:
        """Each sentence's most output tokens, as our search computes them."""
        src = right_padded(ids)
        return max_lengths(src, options, scorer=self.translator.scorer).tolist()


def cpu_translator(folder: Path, *, precision: str, workers: int, threads: int):
    """A ``ctranslate2.Translator`` of the conversion in ``folder`` on the CPU: ``workers``
    workers (``inter_threads``) of ``threads`` threads each."""
    import ctranslate2

    with torch_threads_kept():
        return ctranslate2.Translator(
            str(folder), device="cpu", compute_type=COMPUTE_TYPES[precision],
            intra_threads=threads, inter_threads=workers,
        )  # fmt: skip


def cache_folder(model_dir: Path, stamp: dict[str, str]) -> Path:
    """Where the conversion of ``model_dir`` (of ``stamp``'s weights) is kept: its ``CACHE``
    folder, or, when ``$SEQ2SEQ_CONVERSIONS`` names a folder (model directories that must stay
    as they are: read-only ones, shared ones), a folder there per weights digest."""
    shared = os.environ.get(CONVERSIONS_VARIABLE)
    return Path(shared) / stamp["weights"][:16] if shared else Path(model_dir) / CACHE


def convert(loaded: LoadedModel, model_dir: Path) -> Path:
    """The CTranslate2 conversion of ``model_dir`` (``loaded``: its fp32 model), cached in
    ``cache_folder`` and made again when the weights change; in a temporary folder when that
    cannot be written."""
    stamp = stamp_of(model_dir)
    cached = cache_folder(model_dir, stamp)
    if (cached / STAMP).is_file() and json.loads((cached / STAMP).read_text()) == stamp:
        return cached
    try:  # made aside, then put in place whole: a server starting beside sees no half of it
        cached.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{CACHE}-", dir=cached.parent))
    except OSError:
        return _converted(loaded, Path(tempfile.mkdtemp()) / CACHE, stamp)
    _converted(loaded, work, stamp)
    shutil.rmtree(cached, ignore_errors=True)
    os.replace(work, cached)
    return cached


def _converted(loaded: LoadedModel, folder: Path, stamp: dict[str, str]) -> Path:
    export_ctranslate2(loaded, folder)
    (folder / STAMP).write_text(json.dumps(stamp))
    return folder


def stamp_of(model_dir: Path) -> dict[str, str]:
    """What a conversion is made from: the weights' digest and CTranslate2's version."""
    import ctranslate2

    digest = hashlib.sha256((model_dir / WEIGHTS).read_bytes()).hexdigest()
    return {"weights": digest, "ctranslate2": ctranslate2.__version__}


def check_sentences(loaded: LoadedModel) -> list[str]:
    """``CHECK_LINES`` sentences of random source pieces, the same each time: a model
    directory carries no text of its own, and the check compares decoders, not quality."""
    rng = random.Random(CHECK_SEED)
    tokenizer = loaded.src_tokenizer
    ordinary = range(EOS_ID + 1, tokenizer.vocab_size)
    rows = [[rng.choice(ordinary) for _ in range(CHECK_PIECES)] for _ in range(CHECK_LINES)]
    return tokenizer.decode(rows)
