"""LibreTranslate's file translation: ``POST /translate_file``, then ``GET /download_file/NAME``.

A translated file is kept in memory under a name no one can guess (a random token before the
file's own name) until ``KEPT`` newer files push it out.
"""

from __future__ import annotations

import re
import secrets
from collections import OrderedDict

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from seq2seq.serve.access import Admission
from seq2seq.serve.documents import MEDIA_TYPES, DocumentError, read_document
from seq2seq.serve.libretranslate import (
    LibreTranslateRequest,
    direction,
    read_request,
    translate_plain,
)
from seq2seq.serve.requests import ApiError, check_chars, glossary_of
from seq2seq.serve.service import TranslationService
from seq2seq.serve.settings import ServerSettings

KEPT = 64  # translated files waiting to be downloaded


class TranslatedFiles:
    """The last ``KEPT`` translated files: name -> (bytes, media type)."""

    def __init__(self) -> None:
        self.files: OrderedDict[str, tuple[bytes, str]] = OrderedDict()

    def put(self, name: str, data: bytes) -> str:
        """Keep ``data``, a translation of the file ``name``; the name to download it by."""
        safe = re.sub(r"[^\w.-]+", "_", name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1])
        kept = f"{secrets.token_hex(16)}.{safe}"
        suffix = "." + safe.rsplit(".", 1)[-1].lower()
        self.files[kept] = (data, MEDIA_TYPES[suffix])
        while len(self.files) > KEPT:
            self.files.popitem(last=False)
        return kept


def files_router(
    service: TranslationService, settings: ServerSettings, admission: Admission
) -> APIRouter:
    """``/translate_file`` behind ``admission``, and ``/download_file/{name}``."""
    router = APIRouter(tags=["LibreTranslate"])
    translated = TranslatedFiles()

    @router.post("/translate_file")
    async def translate_file(
        request: Request, params: LibreTranslateRequest = Depends(read_request)
    ) -> JSONResponse:
        """LibreTranslate's translate_file: a multipart ``file`` (.txt, .html, .srt, .docx),
        ``source`` (or "auto"), ``target``, ``api_key``, and ours, ``glossary``."""
        admission(request, params.api_key)
        upload = (await request.form()).get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ApiError(400, "Invalid request: missing file parameter")
        try:
            document = read_document(upload.filename, await upload.read())
        except DocumentError as error:
            raise ApiError(400, f"Invalid request: {error}") from None
        check_chars(document.texts, settings.limits)
        source, target, _ = direction(service, params, document.texts)
        results = await translate_plain(
            service, document.texts, source, target, html=document.html,
            options=settings.options, glossary=glossary_of(params.glossary, settings.glossary),
        )  # fmt: skip
        name = translated.put(
            upload.filename, document.render([r.candidates[0].text for r in results])
        )
        url = str(request.url_for("download_file", name=name))
        return JSONResponse({"translatedFileUrl": url})

    @router.get("/download_file/{name}", name="download_file")
    async def download_file(name: str) -> Response:
        if name not in translated.files:
            raise ApiError(404, "Not Found")
        data, media_type = translated.files[name]
        disposition = f'attachment; filename="{name.split(".", 1)[1]}"'
        return Response(data, media_type=media_type,
                        headers={"Content-Disposition": disposition})  # fmt: skip

    return router
