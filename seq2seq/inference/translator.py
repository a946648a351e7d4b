"""Translator: text in, text out, with the model directory's normalization and tokenizer."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol

import torch
from torch import Tensor

from seq2seq.common.errors import ConfigError
from seq2seq.common.special import EOS_ID
from seq2seq.inference.batches import right_padded, token_batches
from seq2seq.inference.forced import pair_log_probabilities
from seq2seq.inference.language_model import LineScore, LineTooLong
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.runtime.precision import prepare_for_decoding
from seq2seq.inference.search.columns import Columns
from seq2seq.inference.search.constraints import SentenceConstraints
from seq2seq.inference.search.decode import decode
from seq2seq.inference.search.hypothesis import length_penalty
from seq2seq.inference.search.prefix import Prefixes
from seq2seq.inference.search.scorers import (
    LanguageModelScorer,
    ModelScorer,
    Scorer,
    ensemble,
    ensemble_weights,
    fused,
)
from seq2seq.inference.search.selectors import Constrained
from seq2seq.inference.search.stepwise import max_lengths
from seq2seq.inference.search.vocabulary import check_same_pieces
from seq2seq.modeldir.format import LANGUAGE_MODEL, LoadedModel, load_model_dir
from seq2seq.modeldir.shortlist import Shortlist, chosen_shortlist

DEFAULT = DecodingOptions()


@dataclass(frozen=True)
class Candidate:
    text: str
    score: float | None  # length-normalized log-probability (None from greedy search)


class Engine(Protocol):
    """What translates batches of sentences: a ``Translator``, or an engine that decodes a
    Translator's plain requests faster (``seq2seq.export.engine``), which refuses the rest."""

    def translate_nbest(
        self,
        sentences: list[str],
        *,
        options: DecodingOptions = DEFAULT,
        on_truncate: Callable[[int], None] | None = None,
        prefixes: list[str] | None = None,
        constraints: list[list[str]] | None = None,
        on_impossible: Callable[[int], None] | None = None,
    ) -> list[list[Candidate]]: ...


@dataclass(frozen=True)
class PairScore(LineScore):
    """A given translation's probability under the model given its source (``log_prob``,
    ``token_probs``), and ``score``: ``log_prob`` over beam search's length penalty, what
    beam search ranks by."""

    score: float


class Translator:
    """Translates lists of sentences with one model or an ensemble; batches by tokens,
    longest first, order restored."""

    def __init__(
        self,
        loaded: LoadedModel,
        *others: LoadedModel,
        weights: Sequence[float] | None = None,
        precision: str = "fp32",
        device: torch.device | str = "cpu",
        pack_weights: bool = True,
        lm: LoadedModel | None = None,
        lm_weight: float = 0.0,
        shortlist: Shortlist | None = None,
    ) -> None:
        """``loaded`` and ``others``: the model, or an ensemble's members, which read the
        source and write the target with one vocabulary (``loaded``'s normalization and
        tokenizers serve them all); ``weights``: the members' (None: equal; see
        ``seq2seq.inference.search.scorers.ensemble``); ``precision``: one of ``PRECISIONS``;
        ``device``: where the models decode ("cpu", "cuda", "cuda:1"); ``pack_weights``:
        False keeps fp32 CPU decoding on ``F.linear`` (see ``prepare_for_decoding``); ``lm``:
        a language model of the target vocabulary fused in with ``lm_weight`` (``fused``);
        ``shortlist``: each batch's search scores only the target tokens it keeps for the
        batch's sources (``Shortlist.kept``), renormalized over them. The loaded models are
        changed in place to decode there in that precision.

        Raises:
            DataError: a member or ``lm`` has another vocabulary.
            ValueError: weights of another count than the models, or not positive.
        """
        self.loaded = loaded
        self.device = torch.device(device)
        for other in others:
            why = "the models of an ensemble share their vocabularies"
            check_same_pieces(loaded.tgt_tokenizer, other.tgt_tokenizer, why=why)
            check_same_pieces(loaded.src_tokenizer, other.src_tokenizer, why=why)
        prepare = partial(
            prepare_for_decoding, precision=precision, device=self.device, pack_weights=pack_weights
        )
        self.members = (loaded, *others)
        self.models = [prepare(member.model) for member in self.members]
        self.model = self.models[0]
        self.weights = tuple(ensemble_weights(len(self.models), weights))
        self.lm: LanguageModelScorer | None = None
        if lm is not None:
            why = "a fused language model must be trained on the translation experiment's data"
            check_same_pieces(loaded.tgt_tokenizer, lm.tgt_tokenizer, why=why)
            self.lm = LanguageModelScorer(prepare(lm.model))
        self.lm_weight = lm_weight
        self.scorer = self._scorer()
        self.shortlist = shortlist
        self.bf16 = precision == "bf16"
        self.max_source_tokens = min(model.source_limit() for model in self.models)

    @property
    def prompts(self) -> list[tuple[int, ...]]:
        """What each model's decoder reads after bos before its output (``target_prompt``)."""
        return [member.target_prompt for member in self.members]

    def _scorer(self) -> Scorer:
        """The models' scorer, each model reading its prompt (an ensemble's members
        together), with the language model fused in."""
        scorers = [
            ModelScorer(model, prompt=prompt)
            for model, prompt in zip(self.models, self.prompts, strict=True)
        ]
        scorer = ensemble(scorers, self.weights)
        return scorer if self.lm is None else fused(scorer, self.lm, weight=self.lm_weight)

    def directed(self, src_lang: str | None, tgt_lang: str | None) -> Translator:
        """This translator for ``src_lang`` -> ``tgt_lang`` (None: its own direction), which
        a multilingual model may choose (``LoadedModel.directed``, for each member of an
        ensemble): the same prepared models, the source read with its language's tag and each
        model's target prompted with its own.

        Raises:
            ConfigError: a language some model does not translate.
        """
        members = tuple(member.directed(src_lang, tgt_lang) for member in self.members)
        if all(new is old for new, old in zip(members, self.members, strict=True)):
            return self
        other = copy.copy(self)
        other.members, other.loaded = members, members[0]
        other.scorer = other._scorer()
        return other

    @classmethod
    def load(
        cls,
        model_dir: Path | str,
        *others: Path | str,
        weights: Sequence[float] | None = None,
        precision: str = "fp32",
        device: torch.device | str = "cpu",
        pack_weights: bool = True,
        lm_dir: Path | str | None = None,
        lm_weight: float = 0.0,
        shortlist: Path | str | bool = True,
    ) -> Translator:
        """A translation model directory (and an ensemble's other members), and a language
        model directory to fuse in; ``shortlist``: a shortlist file, True for the model
        directory's own (``SHORTLIST``) if it has one, False for none."""
        loaded = load_model_dir(model_dir)
        return cls(
            loaded, *(load_model_dir(d) for d in others), weights=weights,
            precision=precision, device=device, pack_weights=pack_weights, lm_weight=lm_weight,
            lm=load_model_dir(lm_dir, task=LANGUAGE_MODEL) if lm_dir is not None else None,
            shortlist=chosen_shortlist(
                model_dir, shortlist,
                src_tokenizer=loaded.src_tokenizer, tgt_tokenizer=loaded.tgt_tokenizer,
            ),
        )  # fmt: skip

    def translate(
        self,
        sentences: list[str],
        *,
        options: DecodingOptions = DEFAULT,
        on_truncate: Callable[[int], None] | None = None,
        prefixes: list[str] | None = None,
        constraints: list[list[str]] | None = None,
        on_impossible: Callable[[int], None] | None = None,
    ) -> list[str]:
        """The best translation of each sentence ("" for an empty one); the other arguments
        as in ``translate_nbest``."""
        candidates = self.translate_nbest(
            sentences, options=options, on_truncate=on_truncate, prefixes=prefixes,
            constraints=constraints, on_impossible=on_impossible,
        )  # fmt: skip
        return [c[0].text for c in candidates]

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
        """Up to ``options.nbest`` candidates per sentence, best first.

        Args:
            options: search, length limits, batch size (``max_batch_tokens`` source tokens,
                padding included) or sampling (the same seed gives the same samples).
            on_truncate: called with the sentence's index when it is longer than the model's
                maximum and was cut.
            prefixes: per sentence, target text that each of its candidates begins with,
                normalized and segmented as in training ("" for none); an empty sentence
                still gives an empty translation.
            constraints: per sentence, target phrases that each of its candidates must
                contain (constrained beam search: ``seq2seq.inference.search.constraints``).
            on_impossible: called with the sentence's index when its phrases are longer
                than its output may be; it is then translated without them.
        """
        sampling = options.sampling
        generator = torch.Generator(self.device).manual_seed(sampling.seed) if sampling else None
        ids = self.source_ids(sentences, on_truncate)
        prefix_ids = self._prefix_ids(prefixes, ids)
        phrases = self._phrases(constraints, ids, options, on_impossible)
        results: list[list[Candidate]] = [[Candidate("", None)] for _ in sentences]
        order = sorted((i for i in range(len(ids)) if len(ids[i]) > 1), key=lambda i: -len(ids[i]))
        for batch in token_batches(order, [len(i) for i in ids], options.max_batch_tokens):
            src = right_padded([ids[i] for i in batch]).to(self.device)
            forced = None if prefix_ids is None else [prefix_ids[i] for i in batch]
            wanted = None if phrases is None else [phrases[i] for i in batch]
            if wanted is not None and not any(wanted):
                wanted = None
            searched = self._search(src, options, generator, forced, wanted)
            for index, candidates in zip(batch, searched, strict=True):
                results[index] = candidates
        return results

    def _columns(
        self,
        src: Tensor,
        prefixes: list[list[int]] | None,
        constraints: list[SentenceConstraints | None] | None,
    ) -> Columns | None:
        """The target ids that a batch's search scores (its shortlist's, with every token of
        its prefixes and constraints), or None for all."""
        if self.shortlist is None:
            return None
        needed = [token for prefix in prefixes or [] for token in prefix]
        for wanted in constraints or []:
            needed += [] if wanted is None else [t for phrase in wanted.phrases for t in phrase]
        also = torch.tensor(needed, dtype=torch.long)
        return Columns(self.shortlist.kept(src, also=also))

    def _prefix_ids(
        self, prefixes: list[str] | None, src_ids: list[list[int]]
    ) -> list[list[int]] | None:
        """Each prefix's target ids, cut to what the positions hold after its source."""
        if prefixes is None:
            return None
        limits = self.scorer.target_limit(torch.tensor([len(src) for src in src_ids]))
        encoded = self._target_ids(prefixes)
        return [ids[:limit] for ids, limit in zip(encoded, limits.tolist(), strict=True)]

    def score(
        self,
        sources: list[str],
        targets: list[str],
        *,
        alpha: float = DEFAULT.alpha,
        max_batch_tokens: int = DEFAULT.max_batch_tokens,
    ) -> list[PairScore]:
        """How probable the model finds each given translation (forced decoding): sources
        read as ``translate`` reads them, targets normalized and segmented as in training.

        Args:
            alpha: the length penalty of the normalized score, as in beam search.

        Raises:
            LineTooLong: for the first target longer than the model's positions allow
                after its source.
            ConfigError: ensemble members whose decoders read different prompts.
        """
        prompts = self.prompts  # each member's, looked up in its tokenizer
        if len(set(prompts)) > 1:
            raise ConfigError("the ensemble's members start their outputs from different "
                              "language tags: a translation is scored under one")  # fmt: skip
        src_ids = [ids[:-1] for ids in self.source_ids(sources)]  # eos: collate adds it
        tgt_ids = self._target_ids(targets)
        prompt = list(prompts[0])  # read before each target, as the search reads it
        limits = self.scorer.target_limit(torch.tensor([len(src) + 1 for src in src_ids]))
        for index, (tgt, limit) in enumerate(zip(tgt_ids, limits.tolist(), strict=True)):
            if len(tgt) > limit:
                raise LineTooLong(index, len(tgt) + 1, limit + 1)
        per_token = pair_log_probabilities(
            self.models, src_ids, [prompt + tgt for tgt in tgt_ids], weights=self.weights,
            max_batch_tokens=max_batch_tokens, shortlist=self.shortlist,
        )  # fmt: skip
        per_token = [scores[len(prompt) :] for scores in per_token]  # the prompt is not scored
        return [
            PairScore(
                log_prob=float(scores.sum()),
                token_probs=scores.exp().tolist(),
                score=float(scores.sum()) / length_penalty(len(scores), alpha),
            )
            for scores in per_token
        ]

    def source_tokens(self, sentences: list[str]) -> int:
        """The source tokens that ``sentences`` decode as, eos and the model's cut included."""
        return sum(len(ids) for ids in self.source_ids(sentences))

    def source_ids(
        self, sentences: list[str], on_truncate: Callable[[int], None] | None = None
    ) -> list[list[int]]:
        """Each sentence's source ids as the search reads them: normalized, segmented, cut to
        the models' positions (``on_truncate`` hears of each cut), eos last."""
        normalized = [self.loaded.src_normalizer(s) for s in sentences]
        encoded = self.loaded.src_tokenizer.encode(normalized)
        for index, tokens in enumerate(encoded):
            if len(tokens) > self.max_source_tokens and on_truncate is not None:
                on_truncate(index)
        return [
            [*tokens[: self.max_source_tokens], EOS_ID] if s else [EOS_ID]
            for s, tokens in zip(normalized, encoded, strict=True)
        ]

    def _target_ids(self, texts: list[str]) -> list[list[int]]:
        """Target-side texts normalized and segmented as in training."""
        normalize = self.loaded.tgt_normalizer
        return self.loaded.tgt_tokenizer.encode([normalize(text) for text in texts])

    def _phrases(
        self,
        constraints: list[list[str]] | None,
        src_ids: list[list[int]],
        options: DecodingOptions,
        on_impossible: Callable[[int], None] | None,
    ) -> list[SentenceConstraints | None] | None:
        """Each sentence's phrases as target ids (None: none, or more tokens than its output
        may have, which ``on_impossible`` hears of)."""
        if constraints is None:
            return None
        results: list[SentenceConstraints | None] = []
        for index, (phrases, src) in enumerate(zip(constraints, src_ids, strict=True)):
            encoded = [tuple(ids) for ids in self._target_ids(phrases)]
            wanted = SentenceConstraints(tuple(ids for ids in encoded if ids))
            budget = max_lengths(torch.tensor([src]), options, scorer=self.scorer)
            if wanted.tokens > int(budget[0]):
                if on_impossible is not None:
                    on_impossible(index)
                wanted = SentenceConstraints(())
            results.append(wanted if wanted.phrases else None)
        return results

    def _search(
        self,
        src: Tensor,
        options: DecodingOptions,
        generator: torch.Generator | None,
        prefixes: list[list[int]] | None,
        constraints: list[SentenceConstraints | None] | None,
    ) -> list[list[Candidate]]:
        """Decode one batch with the parts its requests need: a forced prefix is a rule that
        also widens the length limit to hold it; constraints choose beam search's
        candidates; a shortlist narrows the scored vocabulary to the batch's columns."""
        rules, limits, selector, scorer = [], None, None, self.scorer
        columns = self._columns(src, prefixes, constraints)
        if columns is not None:
            scorer = scorer.restricted(columns.ids)
            prefixes = None if prefixes is None else [columns.of(p) for p in prefixes]
            constraints = None if constraints is None else list(map(columns.phrases, constraints))
        if prefixes is not None:
            forced = Prefixes.of(prefixes, device=self.device)
            rules.append(forced)
            limits = forced.limits(src, options, scorer=scorer)
        if constraints is not None:
            selector = Constrained.start(constraints)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            hypotheses = decode(
                scorer, src, options, rules=rules, selector=selector, limits=limits,
                generator=generator,
            )  # fmt: skip
        to_ids = (lambda tokens: tokens) if columns is None else columns.tokens
        detokenize = self.loaded.tgt_tokenizer.decode
        return [
            [
                Candidate(text, h.score)
                for text, h in zip(detokenize([to_ids(h.tokens) for h in hyps]), hyps, strict=True)
            ]
            for hyps in hypotheses
        ]
