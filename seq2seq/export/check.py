"""Does an exported model translate as ours does? Greedy translations of the same sentences
by our model and by the export (Hugging Face MarianMT or CTranslate2), compared line by line
and by BLEU and chrF with ours as the reference (100: the same output)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from seq2seq.common.special import EOS_ID, NEVER_OUTPUT, PAD_ID
from seq2seq.evaluation.metrics import corpus_scores
from seq2seq.export.formats import never_output_pieces
from seq2seq.export.openmp import torch_threads_kept
from seq2seq.inference.batches import right_padded, token_batches
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.search.scorers import ModelScorer
from seq2seq.inference.search.stepwise import greedy_search
from seq2seq.modeldir.format import LoadedModel

MAX_TOKENS = 256  # new tokens per translation, the same limit for both sides
BATCH_TOKENS = 4096


@dataclass(frozen=True)
class ExportCheck:
    """How the export's greedy translations compare with ours.

    Attributes:
        lines: sentences translated (the non-empty lines).
        agreement: the share of them that the export translates exactly as we do.
        bleu, chrf: the export's output scored against ours.
        first_difference: the number of the first line (in ``sentences``) that differs, or
            None.
    """

    lines: int
    agreement: float
    bleu: float
    chrf: float
    first_difference: int | None


def check_export(
    loaded: LoadedModel, exported: Path, *, kind: str, sentences: list[str]
) -> ExportCheck:
    """Translate ``sentences`` greedily with ``loaded`` and with the export at ``exported``
    ("huggingface" or "ctranslate2"), from the same normalized source tokens; empty ones are
    left out (neither translates them)."""
    limit = loaded.model.source_limit()
    numbers = [number for number, s in enumerate(sentences, start=1) if s.strip()]
    sentences = [sentences[number - 1] for number in numbers]
    normalized = [loaded.src_normalizer(s) for s in sentences]
    ids = [row[:limit] for row in loaded.src_tokenizer.encode(normalized)]
    steps = min(MAX_TOKENS, loaded.model.cfg.max_positions - 1)
    ours = loaded.tgt_tokenizer.decode(_ours(loaded, ids, steps))
    translate = _huggingface if kind == "huggingface" else _ctranslate2
    theirs = translate(loaded, exported, ids, steps)
    same = [a == b for a, b in zip(ours, theirs, strict=True)]
    scores = corpus_scores(theirs, ours)
    return ExportCheck(
        lines=len(sentences),
        agreement=sum(same) / len(same) if same else 1.0,
        bleu=scores.bleu,
        chrf=scores.chrf,
        first_difference=next((n for n, s in zip(numbers, same, strict=True) if not s), None),
    )


def _batches(ids: list[list[int]]) -> list[list[int]]:
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    return token_batches(order, [len(row) + 1 for row in ids], BATCH_TOKENS)


def _with_eos(rows: list[list[int]]) -> torch.Tensor:
    """Source ids + eos, right-padded: (batch, longest + 1)."""
    return right_padded([[*tokens, EOS_ID] for tokens in rows])


def _ours(loaded: LoadedModel, ids: list[list[int]], steps: int) -> list[list[int]]:
    options = DecodingOptions(beam_size=1, max_len_a=0, max_len_b=steps)
    outputs: list[list[int]] = [[] for _ in ids]
    for batch in _batches(ids):
        src = _with_eos([ids[i] for i in batch])
        found = greedy_search(ModelScorer(loaded.model), src, options=options)
        for index, tokens in zip(batch, found, strict=True):
            outputs[index] = tokens
    return outputs


def _huggingface(loaded: LoadedModel, path: Path, ids: list[list[int]], steps: int) -> list[str]:
    from transformers import MarianMTModel

    model = MarianMTModel.from_pretrained(path).eval()
    outputs: list[list[int]] = [[] for _ in ids]
    for batch in _batches(ids):
        src = _with_eos([ids[i] for i in batch])
        with torch.no_grad():  # Marian forces eos as the token after the limit; we stop there
            generated = model.generate(
                input_ids=src, attention_mask=src.ne(PAD_ID).long(), num_beams=1,
                do_sample=False, max_new_tokens=steps + 1, min_new_tokens=0,
                bad_words_ids=[[token] for token in NEVER_OUTPUT],
            )  # fmt: skip
        for index, row in zip(batch, generated.tolist(), strict=True):
            outputs[index] = [t for t in row[1:] if t not in (PAD_ID, EOS_ID)]
    return loaded.tgt_tokenizer.decode(outputs)


def _ctranslate2(loaded: LoadedModel, path: Path, ids: list[list[int]], steps: int) -> list[str]:
    import ctranslate2

    with torch_threads_kept():
        translator = ctranslate2.Translator(str(path), device="cpu")
    pieces = [loaded.src_tokenizer.pieces(row) for row in ids]
    results = translator.translate_batch(
        pieces, beam_size=1, max_decoding_length=steps,
        suppress_sequences=never_output_pieces(loaded.tgt_tokenizer),
    )  # fmt: skip
    return loaded.tgt_tokenizer.decode_pieces([r.hypotheses[0] for r in results])
