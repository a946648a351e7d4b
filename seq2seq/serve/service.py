"""The loaded models, one per direction, behind their batchers: texts in, candidates out.

A text is cut into sentences (its text nodes first, for HTML); the sentences of all the texts
of a request go to the direction's batcher together and are put back in place afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial

from seq2seq.analysis.alignment import word_alignment
from seq2seq.analysis.attention import sentence_attention
from seq2seq.common.errors import ConfigError
from seq2seq.common.languages import iso_code
from seq2seq.data.glossary import Glossary
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.segments import Align, Segmented, regroup, segment, whole_text_candidates
from seq2seq.inference.translator import Candidate, Engine, Translator
from seq2seq.serve.batching import Batcher, BatchingSettings, Decode
from seq2seq.serve.cache import TranslationCache


class UnknownPair(LookupError):
    """No loaded model translates this direction."""


@dataclass(frozen=True)
class TextTranslation:
    """One text's translation.

    Attributes:
        candidates: whole-text candidates, best first (``whole_text_candidates``).
        sentences: the text's source sentences.
        best: the best translation of each sentence.
    """

    candidates: list[Candidate]
    sentences: list[str]
    best: list[str]


@dataclass(frozen=True)
class CrossAttention:
    """Cross-attention of one sentence pair, averaged over heads.

    Attributes:
        source_tokens: the keys (source subwords and "</s>").
        target_tokens: the queries ("<s>" and the target subwords).
        layers: per decoder layer, (len(target_tokens), len(source_tokens)) probabilities.
    """

    source_tokens: list[str]
    target_tokens: list[str]
    layers: list[list[list[float]]]


class TranslationService:
    """Translators keyed by (source, target) language, each with its own batcher, and for some
    directions a faster engine with a batcher of its own for plain requests; one executor
    thread runs every model, so the cores are never shared between two batches.

    A multilingual model (``ModelDirSpec.tags``) serves every pair of the languages it knows:
    a pair's translator (``Translator.directed``, the same weights) and batcher are made when
    it is first asked for. Languages are keyed by their ISO 639-1 code where they have one
    (what LibreTranslate's clients send), and a request may name them by either code.
    """

    def __init__(
        self,
        translators: list[Translator],
        *,
        executor: Executor,
        settings: BatchingSettings,
        engines: dict[tuple[str, str], Engine] | None = None,
        on_batch: Callable[[int], None] = lambda sentences: None,
        on_request: Callable[[str], None] = lambda engine: None,
        cache: TranslationCache | None = None,
    ) -> None:
        """``engines``: per (source, target), an engine that decodes the requests that
        ask for no more than text (``translate(plain=True)``) without sampling or
        constraints; ``on_request`` hears the name of the engine of each request ("torch" or
        "ctranslate2"); ``cache``: recent sentences' candidates (default: none kept)."""
        self.executor = executor
        self.cache = cache or TranslationCache(0)
        self.on_request = on_request
        self.translators = {
            _key(t.loaded.spec.src_lang, t.loaded.spec.tgt_lang): t for t in translators
        }
        self.multilingual = [t for t in translators if t.loaded.spec.tags is not None]
        self._batcher = partial(Batcher, executor=executor, settings=settings, on_batch=on_batch)
        self.batchers = {
            pair: self._batcher(_decoder(t), t.source_tokens)
            for pair, t in self.translators.items()
        }
        self.plain_batchers = {
            _key(*pair): self._batcher(_decoder(e), self.translators[_key(*pair)].source_tokens)
            for pair, e in (engines or {}).items()
        }
        self._started: set[asyncio.Task] = set()  # the workers of batchers made on request

    @property
    def depth(self) -> int:
        """Requests waiting, all directions together."""
        batchers = [*self.batchers.values(), *self.plain_batchers.values()]
        return sum(batcher.depth for batcher in batchers)

    def languages(self) -> list[str]:
        """Every language code some model reads or writes, in the order the models were given."""
        codes = [code for pair in self.translators for code in pair]
        codes += [code for t in self.multilingual for code in _codes(t)]
        return list(dict.fromkeys(codes))

    def targets(self, source: str) -> list[str]:
        found = [tgt for src, tgt in self.translators if src == source]
        for translator in self.multilingual:
            codes = _codes(translator)
            found += [code for code in codes if source in codes and code != source]
        return list(dict.fromkeys(found))

    async def run(self) -> None:
        """The batchers' workers, until cancelled (those made on request too)."""
        batchers = [*self.batchers.values(), *self.plain_batchers.values()]
        try:
            await asyncio.gather(*(batcher.run() for batcher in batchers))
        finally:
            for task in self._started:
                task.cancel()

    def translator(self, source: str, target: str) -> Translator:
        """The translator of ``source`` -> ``target`` (either code of each), a multilingual
        model's made, with its batcher, on the first request.

        Raises:
            UnknownPair: no model translates the pair.
        """
        return self.translators[self._pair(source, target)]

    def _pair(self, source: str, target: str) -> tuple[str, str]:
        """The key of ``source`` -> ``target`` in ``translators`` and ``batchers``, where a
        multilingual model's pair is added on its first request (``UnknownPair``: none)."""
        pair = _key(source, target)
        if pair not in self.translators:
            translator = self._directed(pair)
            batcher = self._batcher(_decoder(translator), translator.source_tokens)
            self.translators[pair], self.batchers[pair] = translator, batcher
            self._started.add(asyncio.create_task(batcher.run()))
        return pair

    def _directed(self, pair: tuple[str, str]) -> Translator:
        for translator in self.multilingual:
            if set(pair) <= set(_codes(translator)) and pair[0] != pair[1]:
                return translator.directed(*pair)
        raise UnknownPair(f"no model translates {pair[0]} to {pair[1]}")

    async def translate(
        self,
        texts: list[str],
        *,
        source: str,
        target: str,
        html: bool,
        options: DecodingOptions,
        plain: bool = False,
        glossary: Glossary | None = None,
    ) -> list[TextTranslation]:
        """Translate ``texts`` (plain text, or HTML cut into blocks whose inline elements
        follow their words: ``seq2seq.inference.segments``);
        ``plain``: the answer carries text alone (no scores), so a faster engine may decode
        it; ``glossary``: the target terms of the source terms each sentence contains are
        kept by beam search (``ConfigError`` with sampling)."""
        pair = self._pair(source, target)
        segmented = [segment(text, html_markup=html) for text in texts]
        sentences = [s for cut in segmented for s in cut.sentences]
        constraints = _constraints(sentences, glossary, options)
        name, batcher = "torch", self.batchers[pair]
        faster = plain and options.sampling is None and constraints is None
        if faster and pair in self.plain_batchers:
            name, batcher = "ctranslate2", self.plain_batchers[pair]
        self.on_request(name)
        keys = [(pair, name, options, s) for s in sentences]
        if constraints is not None:
            keys = [(*key, tuple(c)) for key, c in zip(keys, constraints, strict=True)]
        results = await self._decode(batcher, sentences, options, constraints, keys)
        groups = regroup(results, [len(cut.sentences) for cut in segmented])
        align = await self._alignments(pair, segmented, groups, nbest=options.nbest)
        return [
            TextTranslation(
                whole_text_candidates(mine, partial(cut.render, align=align), nbest=options.nbest),
                cut.sentences,
                [c[0].text for c in mine],
            )
            for cut, mine in zip(segmented, groups, strict=True)
        ]

    async def _alignments(
        self,
        pair: tuple[str, str],
        segmented: list[Segmented],
        groups: list[Sequence[list[Candidate]]],
        *,
        nbest: int,
    ) -> Align:
        """The word alignments that rendering the texts' first ``nbest`` candidates needs,
        computed on the decoding thread."""
        pairs = set()
        for cut, mine in zip(segmented, groups, strict=True):
            aligned = set(cut.aligned)  # a sentence may come twice, with other candidates
            pairs |= {(s, c.text) for s, found in zip(cut.sentences, mine, strict=True)
                      if s in aligned for c in found[:nbest]}  # fmt: skip
        if not pairs:
            return _no_alignment
        loaded = self.translators[pair].loaded
        ordered = sorted(pairs)
        found = await asyncio.get_running_loop().run_in_executor(
            self.executor, lambda: [word_alignment(loaded, s, t) for s, t in ordered]
        )
        table = dict(zip(ordered, found, strict=True))
        return lambda source, translation: table[(source, translation)]

    async def _decode(self, batcher, sentences, options, constraints, keys) -> list:
        """Each sentence's candidates, from the cache where it has them, else decoded."""
        found = [self.cache.get(key) for key in keys]
        missing = [i for i, candidates in enumerate(found) if candidates is None]
        if missing:
            decoded = await batcher.translate(
                [sentences[i] for i in missing], options,
                constraints=None if constraints is None else [constraints[i] for i in missing],
            )  # fmt: skip
            for i, candidates in zip(missing, decoded, strict=True):
                found[i] = candidates
                self.cache.put(keys[i], candidates)
        return found

    async def cross_attention(
        self, source: str, target: str, sentence: str, translation: str
    ) -> CrossAttention:
        """The cross-attention of ``sentence`` and its ``translation``, teacher-forced."""
        loaded = self.translator(source, target).loaded
        maps = await asyncio.get_running_loop().run_in_executor(
            self.executor, sentence_attention, loaded, sentence, translation
        )
        return CrossAttention(
            source_tokens=maps.src_tokens,
            target_tokens=maps.tgt_tokens,
            layers=[layer.mean(0).round(decimals=4).tolist() for layer in maps.cross],
        )


def _key(source: str, target: str) -> tuple[str, str]:
    """A pair as the service keys it: each language by its ISO 639-1 code where it has one."""
    return iso_code(source), iso_code(target)


def _codes(translator: Translator) -> list[str]:
    """The languages a multilingual model knows, as the service names them."""
    return [iso_code(code) for code in translator.loaded.spec.tags or {}]


def _decoder(engine: Engine) -> Decode:
    def decode(
        sentences: list[str], options: DecodingOptions, constraints: list[list[str]] | None
    ) -> list[list[Candidate]]:
        return engine.translate_nbest(sentences, options=options, constraints=constraints)

    return decode


def _constraints(
    sentences: list[str], glossary: Glossary | None, options: DecodingOptions
) -> list[list[str]] | None:
    """Per sentence, the glossary's target terms it must contain; None where none has any."""
    found = [glossary.targets(s) for s in sentences] if glossary is not None else []
    if not any(found):
        return None
    if options.sampling is not None:
        raise ConfigError("a glossary's terms are kept by beam search, not by sampling")
    return found


def _no_alignment(source: str, translation: str) -> list[int | None]:
    raise LookupError(f"no alignment was made for {source!r}")
