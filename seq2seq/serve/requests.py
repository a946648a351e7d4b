"""Reading requests: JSON or form bodies, within a size limit, and errors as ``{"error"}``."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seq2seq.data.glossary import Glossary
from seq2seq.serve.limits import RequestLimits


class ApiError(Exception):
    """Answered as ``{"error": message}`` with ``status`` (and ``headers``)."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def too_large(limit: int) -> ApiError:
    return ApiError(413, f"Request body exceeds the limit of {limit} bytes")


def busy() -> ApiError:
    """The queue is full: come back in a second."""
    return ApiError(503, "Server busy: too many requests waiting, retry later",
                    headers={"Retry-After": "1"})  # fmt: skip


def texts_of(q: Any, limits: RequestLimits) -> tuple[list[str], bool]:
    """``q`` as a list of texts, and whether it was a single string; checked against limits."""
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
    check_chars(texts, limits)
    return texts, single


def check_chars(texts: list[str], limits: RequestLimits) -> None:
    """413 where ``texts`` hold more characters than one request may."""
    chars = sum(len(t) for t in texts)
    if chars > limits.max_chars:
        raise ApiError(
            413, f"Invalid request: request ({chars}) exceeds text limit ({limits.max_chars})"
        )


def glossary_of(value: Any, server: Glossary) -> Glossary:
    """The ``server``'s glossary under a request's ``glossary``: a JSON object of source term to
    target term (in a form body, as JSON text), or None."""
    if value is None:
        return server
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            value = None
    terms = value.items() if isinstance(value, dict) else None
    if terms is None or not all(isinstance(t, str) and t.strip() for pair in terms for t in pair):
        raise ApiError(
            400, "Invalid request: glossary must be a JSON object of source term to target term"
        )
    if not terms:  # {}, as the page sends without terms: the server's, as it is
        return server
    return server.merged({source.strip(): target.strip() for source, target in terms})


async def read_params(request: Request) -> dict[str, Any]:
    """The request's parameters: a JSON object, a url-encoded or multipart form, or the query
    string of a body-less request (a form field given twice becomes a list)."""
    body = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        form = await request.form()
        return {key: _one_or_list(form.getlist(key)) for key in form}
    text = _utf8(body) if body else request.url.query
    if kind == "application/json":
        return _json_object(text)
    if kind in ("", "application/x-www-form-urlencoded") or not body:
        return _form(text)
    raise ApiError(400, f"Invalid request: unsupported content type {kind}")


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ApiError(400, f"Invalid request: body is not UTF-8 (byte {error.start})") from None


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ApiError(400, f"Invalid request: invalid JSON ({error.msg} at line "
                            f"{error.lineno} column {error.colno})") from None  # fmt: skip
    if not isinstance(value, dict):
        raise ApiError(400, "Invalid request: the JSON body must be an object")
    return value


def _form(text: str) -> dict[str, Any]:
    try:
        fields = parse_qsl(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise ApiError(400, "Invalid request: form field is not UTF-8") from None
    grouped: dict[str, list[str]] = {}
    for key, value in fields:
        grouped.setdefault(key, []).append(value)
    return {key: _one_or_list(values) for key, values in grouped.items()}


def _one_or_list(values: list) -> Any:
    return values[0] if len(values) == 1 else list(values)


class BodyLimit:
    """ASGI middleware: a body over ``max_bytes`` is answered 413 before the app reads it; a
    body of unknown length (chunked) is read up to the limit first and then handed on."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.max_bytes:
                await _answer(send, too_large(self.max_bytes))
                return
            await self.app(scope, receive, send)
            return
        body, more = bytearray(), True  # grows in place: no copy of the whole per chunk
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await _answer(send, too_large(self.max_bytes))
                return
        await self.app(scope, _replay(bytes(body), receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _answer(send: Send, error: ApiError) -> None:
    payload = json.dumps({"error": error.message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
