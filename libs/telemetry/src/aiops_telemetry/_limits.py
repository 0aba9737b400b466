"""A request-body limit: pure ASGI, answering 413 with the limit and the setting that moves it."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 64 * 1024  # the largest valid checkout is about 4 kB


class BodyLimitMiddleware:
    """Refuse request bodies over `max_bytes`, declared or streamed, with a 413.

    The limit is raised as an `HTTPException` from `receive`, where the
    endpoint reads the body: FastAPI passes it on to its handler, so the 413
    is a JSON answer that says why, and the request keeps its route label in
    telemetry. An endpoint that never reads its body never buffers it either.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        too_large = HTTPException(
            413,
            f"request body is larger than the {self.max_bytes} bytes this service accepts "
            "(AIOPS_MAX_BODY_BYTES)",
        )
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise too_large
            return message

        await self.app(scope, receive_within_limit, send)
