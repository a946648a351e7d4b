"""LibreTranslate's file translation: ``POST /translate_file``, then ``GET /download_file/NAME``.

A translated file is kept in memory under a name no one can guess (a random token before the
file's own name) until ``KEPT`` newer files push it out.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections import OrderedDict
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from seq2seq.serve.access import Admission
from seq2seq.serve.documents import MEDIA_TYPES, DocumentError, read_document, suffix_of
from seq2seq.serve.libretranslate import (
    LibreTranslateRequest,
    admitted_request,
    direction,
    translate_plain,
)
from seq2seq.serve.requests import ApiError, check_chars, glossary_of
from seq2seq.serve.service import TranslationService
from seq2seq.serve.settings import ServerSettings

KEPT = 64  # translated files waiting to be downloaded
UNPACKED = 20  # a Word document may unpack to this many times the body limit (zip bombs)


class TranslatedFiles:
    """The last ``KEPT`` translated files: name -> (bytes, media type)."""

    def __init__(self) -> None:
        self.files: OrderedDict[str, tuple[bytes, str]] = OrderedDict()

    def put(self, name: str, data: bytes) -> str:
        """Keep ``data``, a translation of the file ``name`` (a ``safe_name``); the name to
        download it by."""
        kept = f"{secrets.token_hex(16)}.{name}"
        self.files[kept] = (data, MEDIA_TYPES[suffix_of(name)])
        while len(self.files) > KEPT:
            self.files.popitem(last=False)
        return kept


def safe_name(sent: str) -> str:
    """The last part of the file name a client sent, with every character but letters,
    digits, ".", "-" and "_" replaced by "_"."""
    return re.sub(r"[^\w.-]+", "_", sent.replace("\\", "/").rsplit("/", 1)[-1])


def attachment(name: str) -> str:
    """A Content-Disposition header for a download named ``name``, which may hold any letters:
    an ASCII fallback and the UTF-8 name (RFC 6266)."""
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


def files_router(
    service: TranslationService, settings: ServerSettings, admission: Admission
) -> APIRouter:
    """``/translate_file`` behind ``admission``, and ``/download_file/{name}``."""
    router = APIRouter(tags=["LibreTranslate"])
    translated = TranslatedFiles()
    admitted = admitted_request(admission)

    @router.post("/translate_file")
    async def translate_file(
        request: Request, params: LibreTranslateRequest = Depends(admitted)
    ) -> JSONResponse:
        """LibreTranslate's translate_file: a multipart ``file`` (.txt, .html, .srt, .docx),
        ``source`` (or "auto"), ``target``, ``api_key``, and ours, ``glossary``."""
        upload = (await request.form()).get("file")
        if not isinstance(upload, UploadFile) or not safe_name(upload.filename or ""):
            raise ApiError(400, "Invalid request: missing file parameter")
        name, data = safe_name(upload.filename), await upload.read()
        unpacked = UNPACKED * settings.limits.max_body_bytes
        try:  # parsing a document takes a while: off the event loop
            document = await asyncio.to_thread(read_document, name, data, max_unpacked=unpacked)
        except DocumentError as error:
            raise ApiError(400, f"Invalid request: {error}") from None
        check_chars(document.texts, settings.limits)
        source, target, _ = direction(service, params, document.texts)
        results = await translate_plain(
            service, document.texts, source, target, html=document.html,
            options=settings.options, glossary=glossary_of(params.glossary, settings.glossary),
        )  # fmt: skip
        best = [result.candidates[0].text for result in results]
        kept = translated.put(name, await asyncio.to_thread(document.render, best))
        url = str(request.url_for("download_file", name=quote(kept)))
        return JSONResponse({"translatedFileUrl": url})

    @router.get("/download_file/{name}", name="download_file")
    async def download_file(name: str) -> Response:
        if name not in translated.files:
            raise ApiError(404, "Not Found")
        data, media_type = translated.files[name]
        headers = {  # a download, never a page of this origin (HTML keeps its scripts)
            "Content-Disposition": attachment(name.split(".", 1)[1]),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
        }
        return Response(data, media_type=media_type, headers=headers)

    return router
