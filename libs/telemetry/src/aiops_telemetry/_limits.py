"""A request-body limit: pure ASGI, answering 413 with the limit and the setting that moves it."""

from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._routes import RouteTemplates

DEFAULT_MAX_BODY_BYTES = 64 * 1024  # the largest valid checkout is about 4 kB


class BodyLimitMiddleware:
    """Refuse request bodies over `max_bytes` with a 413 that says why.

    A body declared too large (`Content-Length`) is refused before the app
    runs, so an endpoint never acts on a request it would not read in full.
    A streamed body is counted as it arrives; once over the limit, `receive`
    raises an `HTTPException`, which FastAPI turns into the same JSON 413.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.detail = (
            f"request body is larger than the {max_bytes} bytes this service accepts "
            "(AIOPS_MAX_BODY_BYTES)"
        )
        self._routes = RouteTemplates()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            self._routes.name_endpoint(scope)  # its span keeps the route's label
            await self._refuse(send)
            return
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, self.detail)
            return message

        await self.app(scope, receive_within_limit, send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": self.detail}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),  # the unread body must not be taken for a request
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
