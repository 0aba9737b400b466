"""Pure ASGI middleware that records one server span per HTTP request."""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Collection

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._routes import ROUTE_TEMPLATE_KEY
from ._sink import TelemetrySink
from ._span import SERVER, error_text, span_row, wall_clock
from .context import SpanContext, SpanOutcome, current_span, extract_context, new_span_id

logger = logging.getLogger("aiops_telemetry.middleware")

UNMATCHED = "<unmatched>"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def endpoint_label(scope: Scope) -> str:
    """The route template (`/inventory/{sku}`), never the raw path.

    The router stores the matched route in the scope; unmatched paths all
    share one label so that scanners cannot grow the label set.
    """
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(template, str):
        # Answered before routing (an injected fault): the template it was matched to.
        template = scope.get(ROUTE_TEMPLATE_KEY)
    return template if isinstance(template, str) else UNMATCHED


class TelemetryMiddleware:
    """Trace-context propagation and a server span for every HTTP request.

    Accepts a valid incoming `X-Trace-Id` (or `traceparent`) or generates
    one, makes it the current span for the handler and its outgoing calls,
    returns it on every response, and records status, latency and, on an
    exception, the full stack trace; an exception the app handled but
    recorded (`record_exception`) fails the span whatever its status. An
    unhandled exception is answered here (a JSON 500 carrying the trace id),
    so the app's own 500 handlers never see it. Requests to `exclude_paths`
    (or under `exclude_prefixes`) get a trace id but no row, and neither do
    the queries and calls they make.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        sink: TelemetrySink,
        service_name: str,
        exclude_paths: Collection[str] = ("/health",),
        exclude_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.sink = sink
        self.service_name = service_name
        self.exclude_paths = frozenset(exclude_paths)
        self.exclude_prefixes = exclude_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        trace_id, parent_span_id = extract_context(scope["headers"])
        span_id = new_span_id()
        trace_header = (b"x-trace-id", trace_id.encode())
        status_code: int | None = 500
        response_started = False

        async def send_with_trace_id(message: Message) -> None:
            nonlocal status_code, response_started
            if message["type"] == "http.response.start":
                status_code = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", ()), trace_header]
            await send(message)

        path = scope["path"]
        recorded = path not in self.exclude_paths and not path.startswith(self.exclude_prefixes)
        outcome = SpanOutcome()
        token = current_span.set(SpanContext(trace_id, span_id, recorded, outcome))
        error_message: str | None = None
        error_kind: str | None = None
        started_at = time.time()
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_trace_id)
        except Exception as exc:
            error_message = error_text(traceback.format_exc())
            error_kind = "exception"
            if response_started:
                raise
            logger.exception(
                "unhandled error in %s %s (trace %s)", scope["method"], scope["path"], trace_id
            )
            await _internal_error(trace_id, exc)(scope, receive, send_with_trace_id)
        except BaseException:
            # Cancelled (the server is shutting down, or the client left): not a 500.
            if not response_started:
                status_code, error_kind = None, "cancelled"
            raise
        finally:
            latency_ms = (time.perf_counter() - start) * 1000.0
            current_span.reset(token)
            if error_kind is None and outcome.error_kind is not None:
                error_kind, error_message = outcome.error_kind, outcome.error_message
            if recorded:
                method = scope["method"]
                self.sink.record(
                    span_row(
                        timestamp=wall_clock(started_at),
                        service_name=self.service_name,
                        endpoint=endpoint_label(scope),
                        method=method if method in _METHODS else "OTHER",
                        status_code=status_code,
                        latency_ms=latency_ms,
                        error_message=error_message,
                        trace_id=trace_id,
                        span_id=span_id,
                        parent_span_id=parent_span_id,
                        kind=SERVER,
                        peer_service=None,
                        error_kind=error_kind,
                        attributes=_attributes(outcome),
                    )
                )


def _attributes(outcome: SpanOutcome) -> str | None:
    """What the handler annotated (`annotate`), as the row's JSON text."""
    if not outcome.attributes:
        return None
    return json.dumps(outcome.attributes, ensure_ascii=False, separators=(",", ":"))


def _internal_error(trace_id: str, exc: Exception) -> JSONResponse:
    detail = "internal error; the trace id locates its stack trace in telemetry"
    return JSONResponse({"detail": detail, "error": type(exc).__name__, "trace_id": trace_id}, 500)
