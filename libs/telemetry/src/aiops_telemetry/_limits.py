"""A request-body limit: pure ASGI, answering 413 with the limit and the setting that moves it."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
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
            # Connection: close, or the unread body would be taken for the next request.
            refusal = JSONResponse({"detail": self.detail}, 413, headers={"connection": "close"})
            await refusal(scope, receive, send)
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
