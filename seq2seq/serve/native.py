"""The native API, ``POST /v1/translate``: what LibreTranslate's cannot say.

N-best candidates with scores, the beam size, the length penalty, sampling, and the
cross-attention of each sentence; its request and response are pydantic models, so they
appear in the OpenAPI document (``/docs``, ``/openapi.json``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from seq2seq.inference.options import DecodingOptions, Sampling
from seq2seq.serve.service import TranslationService

MAX_BEAM = 16


class SamplingRequest(BaseModel):
    temperature: float = Field(1.0, gt=0)
    top_k: int = Field(0, ge=0)
    top_p: float = Field(1.0, gt=0, le=1)
    seed: int = 0


class NativeRequest(BaseModel):
    q: str | list[str] = Field(description="a text or a list of texts")
    source: str = Field(description="language code, e.g. en")
    target: str = Field(description="language code, e.g. fa")
    format: Literal["text", "html"] = "text"
    beam_size: int = Field(5, ge=1, le=MAX_BEAM)
    nbest: int = Field(1, ge=1, le=MAX_BEAM, description="candidates per text, at most beam_size")
    alpha: float = Field(1.0, ge=0, description="length-penalty exponent")
    sampling: SamplingRequest | None = Field(None, description="sample instead of searching")
    attention: bool = Field(False, description="return each sentence's cross-attention")
    api_key: str | None = None


class NativeCandidate(BaseModel):
    text: str
    score: float | None = Field(description="mean length-normalized log-probability")


class SentenceAttention(BaseModel):
    source: str
    translation: str
    source_tokens: list[str]
    target_tokens: list[str]
    layers: list[list[list[float]]] = Field(
        description="per decoder layer, (target tokens, source tokens), averaged over heads"
    )


class NativeTranslation(BaseModel):
    candidates: list[NativeCandidate]
    attention: list[SentenceAttention] | None = None


class NativeResponse(BaseModel):
    translations: list[NativeTranslation]


async def native_translate(
    service: TranslationService, request: NativeRequest, texts: list[str]
) -> NativeResponse:
    """Translate ``texts`` as ``request`` asks (``ConfigError`` for impossible options)."""
    sampling = request.sampling
    options = DecodingOptions(
        beam_size=request.beam_size,
        nbest=request.nbest,
        alpha=request.alpha,
        sampling=Sampling(**sampling.model_dump()) if sampling else None,
    )
    results = await service.translate(
        texts, source=request.source, target=request.target,
        html=request.format == "html", options=options,
    )  # fmt: skip
    translations = []
    for result in results:
        attention = None
        if request.attention:
            attention = []
            for sentence, best in zip(result.sentences, result.best, strict=True):
                maps = await service.cross_attention(request.source, request.target, sentence, best)
                attention.append(SentenceAttention(source=sentence, translation=best, **vars(maps)))
        translations.append(NativeTranslation(
            candidates=[NativeCandidate(text=c.text, score=c.score) for c in result.candidates],
            attention=attention,
        ))  # fmt: skip
    return NativeResponse(translations=translations)
