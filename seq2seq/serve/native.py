"""The native API, ``POST /v1/translate``: what LibreTranslate's cannot say.

N-best candidates with scores, the beam size, the length penalty, sampling, and the
cross-attention of each sentence; its request and response are pydantic models, so they
appear in the OpenAPI document (``/docs``, ``/openapi.json``).

The request's decoding options are ``DecodingOptions``' fields, with their help: a request
names those it wants other than the server's. It may choose its search (``beam_size`` up to
``MAX_BEAM``, ``nbest``, ``alpha``, ``min_len``, ``sampling``) but not lengthen the outputs:
its ``max_len_a`` and ``max_len_b`` count up to the server's. How the server batches
(``max_batch_tokens``) is not a request's to say.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, get_type_hints

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, create_model

from seq2seq.common.errors import ConfigError
from seq2seq.inference.options import DecodingOptions, Sampling
from seq2seq.serve.access import Admission
from seq2seq.serve.batching import QueueFull
from seq2seq.serve.requests import ApiError, busy, glossary_of, texts_of
from seq2seq.serve.service import TranslationService, UnknownPair
from seq2seq.serve.settings import ServerSettings

MAX_BEAM = 16
SERVER_ONLY = ("max_batch_tokens",)  # how the server batches requests together
LENGTH_LIMITS = ("max_len_a", "max_len_b")  # a request may lower these, never raise them
MAXIMA = {"beam_size": MAX_BEAM, "nbest": MAX_BEAM}


def _request_field(option: dataclasses.Field, annotation: Any, default: Any) -> tuple[Any, Any]:
    """A dataclass field as a pydantic field: its type, default, help and bounds."""
    minimum = 1 if option.metadata["positive"] else None
    return annotation, Field(
        default, description=option.metadata["help"], ge=minimum, le=MAXIMA.get(option.name)
    )


def _sampling_request() -> type[BaseModel]:
    """``Sampling``'s fields with their defaults."""
    hints = get_type_hints(Sampling)
    definitions = {
        option.name: _request_field(option, hints[option.name], option.default)
        for option in dataclasses.fields(Sampling)
    }
    return create_model("SamplingRequest", **definitions)


SamplingRequest = _sampling_request()


class TextsRequest(BaseModel):
    """What to translate, and how to answer; ``NativeRequest`` adds the decoding options."""

    q: str | list[str] = Field(description="a text or a list of texts")
    source: str = Field(description="language code, e.g. en")
    target: str = Field(description="language code, e.g. fa")
    format: Literal["text", "html"] = "text"
    attention: bool = Field(False, description="return each sentence's cross-attention")
    glossary: dict[str, str] | None = Field(
        None,
        description="source term -> target term, kept by beam search; over the server's glossary",
    )
    api_key: str | None = None


def _native_request() -> type[TextsRequest]:
    """``TextsRequest`` and each decoding option a request may choose, None unless given."""
    hints = {**get_type_hints(DecodingOptions), "sampling": SamplingRequest}
    definitions = {
        option.name: _request_field(option, hints[option.name] | None, None)
        for option in dataclasses.fields(DecodingOptions)
        if option.name not in SERVER_ONLY
    }
    about = (
        "What to translate, and the decoding options other than the server's (left out or null: "
        "the server's; max_len_a and max_len_b at most the server's)."
    )
    return create_model("NativeRequest", __base__=TextsRequest, __doc__=about, **definitions)


NativeRequest = _native_request()


def request_options(request: TextsRequest, server: DecodingOptions) -> DecodingOptions:
    """The server's decoding options with those ``request`` gives, its length limits capped at
    the server's (``ConfigError`` for impossible options)."""
    values = dataclasses.asdict(server)
    values.update(request.model_dump(include=set(values), exclude_none=True))
    for name in LENGTH_LIMITS:
        values[name] = min(values[name], getattr(server, name))
    return DecodingOptions.from_config(values)


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
    service: TranslationService, request: TextsRequest, texts: list[str], *, server: ServerSettings
) -> NativeResponse:
    """Translate ``texts`` as ``request`` asks, within the ``server``'s options and with its
    glossary (``ConfigError`` for impossible options)."""
    options = request_options(request, server.options)
    results = await service.translate(
        texts, source=request.source, target=request.target,
        html=request.format == "html", options=options,
        glossary=glossary_of(request.glossary, server.glossary),
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


def native_router(
    service: TranslationService, settings: ServerSettings, admission: Admission
) -> APIRouter:
    """``POST /v1/translate`` behind ``admission``."""
    router = APIRouter(tags=["native"])

    async def admitted(request: Request, body: NativeRequest) -> NativeRequest:
        admission(request, body.api_key)
        return body

    @router.post("/v1/translate", response_model=NativeResponse)
    async def translate_native(body: NativeRequest = Depends(admitted)) -> NativeResponse:
        """N-best with scores, beam size, length penalty, sampling, and each sentence's
        cross-attention (per layer, averaged over heads)."""
        texts, _ = texts_of(body.q, settings.limits)
        try:
            return await native_translate(service, body, texts, server=settings)
        except (ConfigError, UnknownPair) as error:
            raise ApiError(400, f"Invalid request: {error}") from None
        except QueueFull:
            raise busy() from None

    return router
