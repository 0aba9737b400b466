"""A request-body limit: pure ASGI, answering 413 with the limit and the setting that moves it."""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._routes import RouteTemplates

DEFAULT_MAX_BODY_BYTES = 64 * 1024  # the largest valid checkout is about 4 kB
# A refused body up to this size is read and thrown away before the 413, so the
# client, done sending, reads it: closing a socket with unread data resets the
# connection, and the answer is lost with it. A larger one is cut off instead.
DISCARD_BYTES = 16 * 1024 * 1024
_CLOSE = {"connection": "close"}

# Told of each body refused before the app runs: `(status, reason)`.
RefusalHook = Callable[[int, str], None]


class BodyLimitMiddleware:
    """Refuse request bodies over `max_bytes` with a 413 that says why.

    A body declared too large (`Content-Length`) is refused before the app
    runs, so an endpoint never acts on a request it would not read in full.
    A streamed body is counted as it arrives; once over the limit, `receive`
    raises an `HTTPException`, which FastAPI turns into the same JSON 413.
    `on_refuse`, if given, is told of each refusal made before the app runs.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int = DEFAULT_MAX_BODY_BYTES,
        on_refuse: RefusalHook | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.on_refuse = on_refuse
        self.detail = (
            f"request body is larger than the {max_bytes} bytes this service accepts "
            "(AIOPS_MAX_BODY_BYTES)"
        )
        self._routes = RouteTemplates()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            self._routes.name_endpoint(scope)  # its span keeps the route's label
            read_all = declared <= DISCARD_BYTES and await _discard(receive, DISCARD_BYTES)
            refusal = JSONResponse({"detail": self.detail}, 413, None if read_all else _CLOSE)
            if self.on_refuse is not None:
                self.on_refuse(413, self.detail)
            await refusal(scope, receive, send)
            return
        if declared is not None:  # the server delivers no more than declared: nothing to count
            await self.app(scope, receive, send)
            return
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    read_all = not message.get("more_body") or await _discard(
                        receive, DISCARD_BYTES - received
                    )
                    raise HTTPException(413, self.detail, None if read_all else _CLOSE)
            return message

        await self.app(scope, receive_within_limit, send)


def _declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length", "")
    # ASCII digits only, and few of them: int() takes "²" and refuses 5,000 digits.
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


async def _discard(receive: Receive, budget: int) -> bool:
    """Read and drop the rest of the body, up to `budget` bytes; whether it all came."""
    while budget >= 0:
        message = await receive()
        if message["type"] != "http.request":
            return False  # the client left
        budget -= len(message.get("body", b""))
        if not message.get("more_body"):
            return budget >= 0
    return False
