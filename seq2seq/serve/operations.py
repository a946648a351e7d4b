"""The operations endpoints: ``/health``, Prometheus ``/metrics``, and the page at ``/``."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from seq2seq.serve.metrics import Metrics
from seq2seq.serve.service import TranslationService

STATIC = files("seq2seq.serve") / "static"


def operations_router(service: TranslationService, metrics: Metrics) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "models": [f"{s}-{t}" for s, t in service.translators],
            "queue": service.depth,
        }

    @router.get("/metrics")
    async def prometheus() -> Response:
        return Response(metrics.text(), media_type="text/plain; version=0.0.4")

    @router.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"))

    return router
