"""The access log: one line per HTTP request, written once the request is over."""

from __future__ import annotations

import logging
import time
from collections.abc import Collection

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .logs import ACCESS_LOGGER

logger = logging.getLogger(ACCESS_LOGGER)


class AccessLogMiddleware:
    """Pure ASGI: logs `method`, `path`, `status` and `duration_ms` of every HTTP request.

    Used instead of uvicorn's access log (`configure_logging` turns that one
    off), which is written when the response starts: it has no duration, and
    an unhandled error's 500 would not be in it. Inside `TelemetryMiddleware`
    the line carries the request's `trace_id` and `span_id`. A request that
    raised logs status 500 (what the tracing or the server's error middleware
    answers); one cancelled before it was answered (the client left) logs no status.
    Requests to `quiet_paths` (health probes, scrapes) log at DEBUG. The path
    is logged without its query string, which may carry anything.
    """

    def __init__(self, app: ASGIApp, *, quiet_paths: Collection[str] = ("/health",)) -> None:
        self.app = app
        self.quiet_paths = frozenset(quiet_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status: int | None = None

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_noting_status)
        except Exception:
            status = status or 500
            raise
        finally:
            duration_ms = round((time.perf_counter() - start) * 1000.0, 2)
            path = scope["path"]
            level = logging.DEBUG if path in self.quiet_paths else logging.INFO
            if logger.isEnabledFor(level):
                method = scope["method"]
                # The path is percent-decoded: a %0A in it must not start a fake line.
                shown = path if path.isprintable() else path.encode("unicode_escape").decode()
                logger.log(
                    level,
                    "%s %s %s %.1fms",
                    method,
                    shown,
                    status if status is not None else "-",
                    duration_ms,
                    extra={
                        "method": method,
                        "path": shown,
                        "status": status,
                        "duration_ms": duration_ms,
                    },
                )
