"""A request body read whole, decompressed as it arrives, and never beyond its limit.

The limit applies after decompression: a few kilobytes of gzip can expand
to gigabytes, so the decompressor is asked for at most what is still
allowed and the request is refused the moment it goes over.
"""

from __future__ import annotations

import zlib

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp

from aiops_telemetry import BodyLimitMiddleware
from aiops_telemetry.limits import DISCARD_BYTES, RefusalHook


class WireLimit(BodyLimitMiddleware):
    """The body limit on the bytes as sent, naming the receiver's own setting."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, on_refuse: RefusalHook | None = None
    ) -> None:
        super().__init__(app, max_bytes=max_bytes, on_refuse=on_refuse)
        self.detail = too_large(max_bytes)


def too_large(limit: int) -> str:
    return (
        f"request body is larger than the {limit} bytes (after decompression) this receiver "
        "accepts (AIOPS_OTLP_MAX_BODY_BYTES); send fewer spans per request"
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The body, gunzipped when `Content-Encoding: gzip`; 413, 415 or 400 (HTTPException)."""
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return await _read(request, limit)
    if encoding != "gzip":
        raise HTTPException(415, f"Content-Encoding {encoding!r} is not supported: use gzip")
    return await _gunzip(request, limit)


async def _read(request: Request, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:  # WireLimit refuses this first; kept for an app run without it
            await _refuse_too_large(request, limit)
        parts.append(chunk)
    return b"".join(parts)


async def _gunzip(request: Request, limit: int) -> bytes:
    decoder = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip header and trailer
    parts: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            pending = chunk
            while pending and not decoder.eof:
                data = decoder.decompress(pending, limit - size + 1)
                size += len(data)
                if size > limit:
                    await _refuse_too_large(request, limit)
                parts.append(data)
                pending = decoder.unconsumed_tail
            if decoder.eof and (decoder.unused_data or pending):
                raise HTTPException(400, "data after the end of the gzip stream")
        tail = decoder.flush()
    except zlib.error as exc:
        raise HTTPException(400, f"the body is not valid gzip ({exc})") from None
    if not decoder.eof:
        raise HTTPException(400, "the gzip stream ends before its end (truncated body)")
    if size + len(tail) > limit:
        await _refuse_too_large(request, limit)
    parts.append(tail)
    return b"".join(parts)


async def _refuse_too_large(request: Request, limit: int) -> None:
    """Read and drop what the client still sends (within a bound), then refuse with 413.

    A client that is still sending when the connection closes may see a
    reset instead of the answer.
    """
    budget = DISCARD_BYTES
    headers = None
    async for chunk in request.stream():
        budget -= len(chunk)
        if budget < 0:
            headers = {"connection": "close"}
            break
    raise HTTPException(413, too_large(limit), headers)
