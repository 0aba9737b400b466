"""Zero-code telemetry for the shop's services.

`Telemetry(settings, version=...)` is the entry point: `instrument(app)` adds
the pure ASGI tracing middleware and `/health`; `http_client(...)` and
`create_pool(...)` hand business code clients whose calls are recorded as
client spans; `record_exception(exc)` marks the request being served as
failed by an exception it handled; `async with telemetry:` runs the COPY sink.
"""

from ._chaos import ChaosMiddleware, Fault, FaultBook, FaultKind
from ._chaos_api import chaos_router
from ._context import (
    TRACE_ID_HEADER,
    TRACEPARENT_HEADER,
    SpanContext,
    current_span,
    current_trace_id,
    extract_context,
    format_traceparent,
    new_span_id,
    new_trace_id,
    outgoing_headers,
    parse_traceparent,
    record_exception,
    valid_trace_id,
    w3c_trace_id,
)
from ._db import Connection, QuerySpans, statement_label, wait_for_pool
from ._http_client import TracingTransport, create_http_client, failure_kind
from ._limits import DEFAULT_MAX_BODY_BYTES, BodyLimitMiddleware
from ._middleware import UNMATCHED, TelemetryMiddleware, endpoint_label
from ._migrations import Migration, apply_migrations, load_migrations
from ._service import Telemetry, package_version
from ._settings import AiopsSettings, ServiceSettings
from ._sink import SinkStats, TelemetrySink
from ._span import CLIENT, COLUMNS, INTERNAL, SERVER, SpanRow, span_row
from ._startup import StartupError, StartupErrorReporter
from ._work import SimulatedWork, WorkDep

__all__ = [
    "CLIENT",
    "COLUMNS",
    "DEFAULT_MAX_BODY_BYTES",
    "INTERNAL",
    "SERVER",
    "TRACEPARENT_HEADER",
    "TRACE_ID_HEADER",
    "UNMATCHED",
    "AiopsSettings",
    "BodyLimitMiddleware",
    "ChaosMiddleware",
    "Connection",
    "Fault",
    "FaultBook",
    "FaultKind",
    "Migration",
    "QuerySpans",
    "ServiceSettings",
    "SimulatedWork",
    "SinkStats",
    "SpanContext",
    "SpanRow",
    "StartupError",
    "StartupErrorReporter",
    "Telemetry",
    "TelemetryMiddleware",
    "TelemetrySink",
    "TracingTransport",
    "WorkDep",
    "apply_migrations",
    "chaos_router",
    "create_http_client",
    "current_span",
    "current_trace_id",
    "endpoint_label",
    "extract_context",
    "failure_kind",
    "format_traceparent",
    "load_migrations",
    "new_span_id",
    "new_trace_id",
    "outgoing_headers",
    "package_version",
    "parse_traceparent",
    "record_exception",
    "span_row",
    "statement_label",
    "valid_trace_id",
    "w3c_trace_id",
    "wait_for_pool",
]
