"""The HTTP application: LibreTranslate's API, the native ``/v1`` API, the page, health, metrics.

LibreTranslate's endpoints (``/translate``, ``/detect``, ``/languages``, ``/frontend/settings``)
take JSON or form bodies and answer errors as ``{"error": "..."}``: 400 for a bad request,
403 for a missing or unknown API key, 413 for text or bodies over the limits, 429 when a
client exceeds its requests per minute, 503 (with ``Retry-After``) when the queue is full.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seq2seq.common.errors import ConfigError
from seq2seq.common.version import __version__
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.translator import Engine, Translator
from seq2seq.serve.batching import BatchingSettings, QueueFull
from seq2seq.serve.languages import detect, language_name
from seq2seq.serve.limits import RateLimiter, RequestLimits
from seq2seq.serve.metrics import Metrics
from seq2seq.serve.native import NativeRequest, NativeResponse, native_translate
from seq2seq.serve.requests import ApiError, BodyLimit, read_params
from seq2seq.serve.service import TextTranslation, TranslationService, UnknownPair

STATIC = files("seq2seq.serve") / "static"
log = logging.getLogger("seq2seq.serve")


@dataclass(frozen=True)
class ServerSettings:
    """Attributes:
    limits: the size of one request.
    batching: how requests are gathered into decoding batches.
    requests_per_minute: per client address without API keys, 0 for no limit.
    api_keys: key -> requests per minute (0: no limit); None lets anyone in.
    options: how both APIs decode: LibreTranslate's ``alternatives`` raise nbest; a native
        request may choose its search but not raise the length limits (``request_options``).
        Its ``max_batch_tokens`` is also the budget of a batch gathered across requests.
    """

    limits: RequestLimits = field(default_factory=RequestLimits)
    batching: BatchingSettings = field(default_factory=BatchingSettings)
    requests_per_minute: int = 0
    api_keys: dict[str, int] | None = None
    options: DecodingOptions = field(default_factory=DecodingOptions)


def create_app(
    translators: list[Translator],
    settings: ServerSettings,
    *,
    engines: dict[tuple[str, str], Engine] | None = None,
) -> FastAPI:
    """The application for one translator per direction (and, per (source, target), an
    engine for LibreTranslate's requests); its lifespan runs the batchers on one decoding
    thread."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="decode")
    metrics = Metrics(lambda: service.depth)
    service = TranslationService(
        translators, executor=executor, settings=settings.batching, engines=engines,
        on_batch=metrics.batch_sentences.observe,
        on_request=lambda engine: metrics.engine_requests.labels(engine).inc(),
    )  # fmt: skip

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        worker = asyncio.create_task(service.run())
        yield
        worker.cancel()
        executor.shutdown(wait=True)

    app = FastAPI(title="seq2seq", version=__version__, lifespan=lifespan)
    limiter = RateLimiter()
    _add_error_handlers(app)

    def admit(params: dict[str, Any], request: Request) -> None:
        """Raise 403 or 429 unless the request's key (or address) may be answered now."""
        key = params.get("api_key") or ""
        if settings.api_keys is not None:
            if key not in settings.api_keys:
                raise ApiError(403, "Invalid API key")
            client, rate = f"key {key}", settings.api_keys[key]
        else:
            client, rate = (
                f"address {request.client.host if request.client else ''}",
                settings.requests_per_minute,
            )
        if rate and not limiter.allow(client, rate):
            retry = str(math.ceil(60 / rate))
            raise ApiError(429, "Slowdown: too many requests", headers={"Retry-After": retry})

    @app.post("/translate", tags=["LibreTranslate"])
    async def translate(request: Request) -> JSONResponse:
        """LibreTranslate's translate: ``q`` (string or list), ``source`` (or "auto"),
        ``target``, ``format`` ("text" or "html"), ``alternatives``, ``api_key``."""
        params = await read_params(request)
        admit(params, request)
        texts, single = _texts(params, settings.limits)
        target = _string(params, "target")
        source = _string(params, "source")
        detected = None
        if source == "auto":
            candidates = [s for s in service.languages() if target in service.targets(s)]
            if not candidates:
                raise ApiError(400, f"Invalid request: no model translates to {target}")
            detected = detect(" ".join(texts), candidates)[0]
            source = detected.language
        fmt = params.get("format", "text")
        if fmt not in ("text", "html"):
            raise ApiError(400, "Invalid request: format must be text or html")
        alternatives = _count(params, "alternatives", limit=settings.options.beam_size - 1)
        nbest = alternatives + 1
        options = replace(settings.options, nbest=nbest)
        results = await _translate(service, texts, source, target, fmt == "html", options)
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

    @app.post("/detect", tags=["LibreTranslate"])
    async def detect_language(request: Request) -> JSONResponse:
        """LibreTranslate's detect: the loaded languages ``q`` may be written in, by script."""
        params = await read_params(request)
        admit(params, request)
        texts, _ = _texts(params, settings.limits)
        found = detect(" ".join(texts), service.languages())
        return JSONResponse([{"confidence": d.confidence, "language": d.language} for d in found])

    @app.get("/languages", tags=["LibreTranslate"])
    async def languages() -> list[dict[str, Any]]:
        """Every language a model reads or writes, with the targets it translates to."""
        return [
            {"code": code, "name": language_name(code), "targets": service.targets(code)}
            for code in service.languages()
        ]

    @app.get("/frontend/settings", tags=["LibreTranslate"])
    async def frontend_settings() -> dict[str, Any]:
        first_source, first_target = next(iter(service.translators))
        return {
            "charLimit": settings.limits.max_chars,
            "apiKeys": settings.api_keys is not None,
            "keyRequired": settings.api_keys is not None,
            "suggestions": False,
            "filesTranslation": False,
            "language": {
                "source": {"code": first_source, "name": language_name(first_source)},
                "target": {"code": first_target, "name": language_name(first_target)},
            },
        }

    @app.post("/v1/translate", tags=["native"], response_model=NativeResponse)
    async def translate_native(body: NativeRequest, request: Request) -> NativeResponse:
        """N-best with scores, beam size, length penalty, sampling, and each sentence's
        cross-attention (per layer, averaged over heads)."""
        admit({"api_key": body.api_key}, request)
        texts, _ = _texts({"q": body.q}, settings.limits)
        try:
            return await native_translate(service, body, texts, server=settings.options)
        except ConfigError as error:
            raise ApiError(400, f"Invalid request: {error}") from None
        except UnknownPair as error:
            raise ApiError(400, f"Invalid request: {error}") from None
        except QueueFull:
            raise _busy() from None

    @app.get("/health", tags=["operations"])
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "models": [f"{s}-{t}" for s, t in service.translators],
            "queue": service.depth,
        }

    @app.get("/metrics", tags=["operations"])
    async def prometheus() -> Response:
        return Response(metrics.text(), media_type="text/plain; version=0.0.4")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"))

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.add_middleware(BodyLimit, max_bytes=settings.limits.max_body_bytes)
    app.add_middleware(Observe, metrics=metrics)
    return app


async def _translate(service, texts, source, target, html, options) -> list[TextTranslation]:
    """LibreTranslate's answers carry text alone: any engine may decode them."""
    try:
        return await service.translate(
            texts, source=source, target=target, html=html, options=options, plain=True
        )
    except UnknownPair as error:
        raise ApiError(400, f"Invalid request: {error}") from None
    except QueueFull:
        raise _busy() from None


def _busy() -> ApiError:
    return ApiError(503, "Server busy: too many requests waiting, retry later",
                    headers={"Retry-After": "1"})  # fmt: skip


def _string(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise ApiError(400, f"Invalid request: missing {name} parameter")
    return value


def _count(params: dict[str, Any], name: str, *, limit: int) -> int:
    value = params.get(name, 0)
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Invalid request: {name} must be a whole number") from None
    if not 0 <= count <= limit or isinstance(value, (bool, float)):
        raise ApiError(400, f"Invalid request: {name} must be a whole number from 0 to {limit}")
    return count


def _texts(params: dict[str, Any], limits: RequestLimits) -> tuple[list[str], bool]:
    """``q`` as a list of texts, and whether it was a single string; checked against limits."""
    q = params.get("q")
    if q is None or q == "" or q == []:
        raise ApiError(400, "Invalid request: missing q parameter")
    single = isinstance(q, str)
    texts = [q] if single else q
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise ApiError(400, "Invalid request: q must be a string or a list of strings")
    if len(texts) > limits.max_texts:
        raise ApiError(
            413, f"Invalid request: {len(texts)} texts exceed the limit of {limits.max_texts}"
        )
    chars = sum(len(t) for t in texts)
    if chars > limits.max_chars:
        raise ApiError(
            413, f"Invalid request: request ({chars}) exceeds text limit ({limits.max_chars})"
        )
    return texts, single


def _each(values: list, single: bool) -> Any:
    return values[0] if single else values


def _add_error_handlers(app: FastAPI) -> None:
    def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error(exc.status, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        return error(400, f"Invalid request: {where + ': ' if where else ''}{first.get('msg')}")

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(ClientDisconnect)
    async def gone(_request: Request, _exc: ClientDisconnect) -> JSONResponse:
        return error(400, "Client disconnected")

    @app.exception_handler(Exception)
    async def failed(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("request failed")
        return error(500, f"Translation failed: {type(exc).__name__}")


class Observe:
    """ASGI middleware: every response counted by endpoint and status, and timed."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            endpoint = getattr(route, "path", "other")
            self.metrics.observe(endpoint, status, time.perf_counter() - start)
