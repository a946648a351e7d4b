"""The HTTP application: LibreTranslate's API, the native ``/v1`` API, the page, health, metrics.

LibreTranslate's endpoints (``/translate``, ``/translate_file``, ``/detect``, ``/languages``,
``/frontend/settings``) take JSON or form bodies and answer errors as ``{"error": "..."}``: 400
for a bad request, 403 for a missing or unknown API key, 413 for text or bodies over the limits,
429 when a client exceeds its requests per minute, 503 (with ``Retry-After``) when the queue is
full. Each API is a router of its own (``libretranslate``, ``files``, ``native``,
``operations``); API keys and rate limits are one dependency (``Admission``) of the translating
endpoints.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seq2seq.common.version import __version__
from seq2seq.inference.translator import Engine, Translator
from seq2seq.serve.access import Admission
from seq2seq.serve.cache import TranslationCache
from seq2seq.serve.files import files_router
from seq2seq.serve.libretranslate import libretranslate_router
from seq2seq.serve.metrics import Metrics
from seq2seq.serve.native import native_router
from seq2seq.serve.operations import STATIC, operations_router
from seq2seq.serve.requests import ApiError, BodyLimit
from seq2seq.serve.service import TranslationService
from seq2seq.serve.settings import ServerSettings

log = logging.getLogger("seq2seq.serve")


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
        cache=TranslationCache(settings.cache_size, on_lookup=metrics.cache_lookup),
    )  # fmt: skip

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        worker = asyncio.create_task(service.run())
        yield
        worker.cancel()
        executor.shutdown(wait=True)

    app = FastAPI(title="seq2seq", version=__version__, lifespan=lifespan)
    admission = Admission(
        api_keys=settings.api_keys, requests_per_minute=settings.requests_per_minute
    )
    app.include_router(libretranslate_router(service, settings, admission))
    app.include_router(files_router(service, settings, admission))
    app.include_router(native_router(service, settings, admission))
    app.include_router(operations_router(service, metrics))
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    _add_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.limits.max_body_bytes)
    app.add_middleware(Observe, metrics=metrics)
    return app


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
