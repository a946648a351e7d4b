"""LibreTranslate's API: ``/translate``, ``/detect``, ``/languages``, ``/frontend/settings``.

Its bodies come as JSON, url-encoded forms or multipart forms (a field given twice is a
list); each is read into one ``LibreTranslateRequest``, whose values are then checked with
LibreTranslate's error messages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from seq2seq.common.errors import ConfigError
from seq2seq.common.languages import language_name
from seq2seq.serve.access import Admission
from seq2seq.serve.batching import QueueFull
from seq2seq.serve.documents import SUFFIXES
from seq2seq.serve.languages import Detection, detect
from seq2seq.serve.requests import ApiError, busy, glossary_of, read_params, texts_of
from seq2seq.serve.service import TextTranslation, TranslationService, UnknownPair
from seq2seq.serve.settings import ServerSettings


class LibreTranslateRequest(BaseModel):
    """A LibreTranslate request's parameters as sent (checked by the endpoints, which answer
    LibreTranslate's messages); parameters it does not know are ignored, as LibreTranslate
    does."""

    model_config = ConfigDict(extra="ignore")

    q: Any = None
    source: Any = None
    target: Any = None
    format: Any = "text"
    alternatives: Any = 0
    api_key: Any = None
    glossary: Any = None


async def _read_request(request: Request) -> LibreTranslateRequest:
    return LibreTranslateRequest.model_validate(await read_params(request))


def admitted_request(admission: Admission) -> Callable[..., Awaitable[LibreTranslateRequest]]:
    """The dependency of an endpoint of LibreTranslate's: the request's parameters, from
    whichever body it has, once ``admission`` lets it in."""

    async def admitted(
        request: Request, params: LibreTranslateRequest = Depends(_read_request)
    ) -> LibreTranslateRequest:
        admission(request, params.api_key)
        return params

    return admitted


def libretranslate_router(
    service: TranslationService, settings: ServerSettings, admission: Admission
) -> APIRouter:
    """The endpoints of LibreTranslate's API, behind ``admission``."""
    router = APIRouter(tags=["LibreTranslate"])
    admitted = admitted_request(admission)

    @router.post("/translate")
    async def translate(params: LibreTranslateRequest = Depends(admitted)) -> JSONResponse:
        """LibreTranslate's translate: ``q`` (string or list), ``source`` (or "auto"),
        ``target``, ``format`` ("text" or "html"), ``alternatives``, ``api_key``, and ours,
        ``glossary`` (source term -> target term)."""
        texts, single = texts_of(params.q, settings.limits)
        source, target, detected = direction(service, params, texts)
        if params.format not in ("text", "html"):
            raise ApiError(400, "Invalid request: format must be text or html")
        alternatives = _count(params.alternatives, "alternatives",
                              limit=settings.options.beam_size - 1)  # fmt: skip
        options = replace(settings.options, nbest=alternatives + 1)
        glossary = glossary_of(params.glossary, settings.glossary)
        results = await translate_plain(
            service, texts, source, target, html=params.format == "html", options=options,
            glossary=glossary,
        )  # fmt: skip
        body: dict[str, Any] = {
            "translatedText": _each([r.candidates[0].text for r in results], single)
        }
        if alternatives:
            body["alternatives"] = _each(
                [[c.text for c in r.candidates[1:]] for r in results], single
            )
        if detected is not None:
            found = {"confidence": detected.confidence, "language": detected.language}
            body["detectedLanguage"] = found if single else [found] * len(texts)
        return JSONResponse(body)

    @router.post("/detect")
    async def detect_language(
        params: LibreTranslateRequest = Depends(admitted),
    ) -> JSONResponse:
        """LibreTranslate's detect: the loaded languages ``q`` may be written in, by script."""
        texts, _ = texts_of(params.q, settings.limits)
        found = detect(" ".join(texts), service.languages())
        return JSONResponse([{"confidence": d.confidence, "language": d.language} for d in found])

    @router.get("/languages")
    async def languages() -> list[dict[str, Any]]:
        """Every language a model reads or writes, with the targets it translates to."""
        return [
            {"code": code, "name": language_name(code), "targets": service.targets(code)}
            for code in service.languages()
        ]

    @router.get("/frontend/settings")
    async def frontend_settings() -> dict[str, Any]:
        first_source, first_target = next(iter(service.translators))
        return {
            "charLimit": settings.limits.max_chars,
            "apiKeys": settings.api_keys is not None,
            "keyRequired": settings.api_keys is not None,
            "suggestions": False,
            "filesTranslation": True,
            "supportedFilesFormat": list(SUFFIXES),
            "language": {
                "source": {"code": first_source, "name": language_name(first_source)},
                "target": {"code": first_target, "name": language_name(first_target)},
            },
        }

    return router


def direction(
    service: TranslationService, params: LibreTranslateRequest, texts: list[str]
) -> tuple[str, str, Detection | None]:
    """The request's source and target, and the language detected where its source is
    "auto"."""
    target, source = _string(params.target, "target"), _string(params.source, "source")
    if source != "auto":
        return source, target, None
    candidates = [s for s in service.languages() if target in service.targets(s)]
    if not candidates:
        raise ApiError(400, f"Invalid request: no model translates to {target}")
    detected = detect(" ".join(texts), candidates)[0]
    return detected.language, target, detected


async def translate_plain(
    service, texts, source, target, *, html, options, glossary
) -> list[TextTranslation]:
    """LibreTranslate's answers carry text alone: any engine may decode them."""
    try:
        return await service.translate(
            texts, source=source, target=target, html=html, options=options, plain=True,
            glossary=glossary,
        )  # fmt: skip
    except (UnknownPair, ConfigError) as error:
        raise ApiError(400, f"Invalid request: {error}") from None
    except QueueFull:
        raise busy() from None


def _string(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ApiError(400, f"Invalid request: missing {name} parameter")
    return value


def _count(value: Any, name: str, *, limit: int) -> int:
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Invalid request: {name} must be a whole number") from None
    if not 0 <= count <= limit or isinstance(value, (bool, float)):
        raise ApiError(400, f"Invalid request: {name} must be a whole number from 0 to {limit}")
    return count


def _each(values: list, single: bool) -> Any:
    return values[0] if single else values
