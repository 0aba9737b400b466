"""Span records as the telemetry table stores them, for code that works without the table.

A record is a plain tuple in the table's column order (`aiops_telemetry.COLUMNS`,
which `aiops_telemetry.SpanRow` rows already are), so rows from the OTLP reader
or a CSV file go through in-memory windows and replay without a copy. The
engine restates the order rather than importing it: the telemetry library
brings asyncpg and FastAPI, which the engine must not need. A test pins the two.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from .rca import Span

FIELDS: tuple[str, ...] = (
    "timestamp",
    "service_name",
    "endpoint",
    "method",
    "status_code",
    "latency_ms",
    "error_message",
    "trace_id",
    "span_id",
    "parent_span_id",
    "kind",
    "peer_service",
    "error_kind",
    "attributes",
)
# Positions in a record; Final literals, so mypy knows each field's type.
TIMESTAMP: Final = 0
SERVICE: Final = 1
ENDPOINT: Final = 2
METHOD: Final = 3
STATUS: Final = 4
LATENCY: Final = 5
ERROR_MESSAGE: Final = 6
TRACE: Final = 7
SPAN: Final = 8
PARENT: Final = 9
KIND: Final = 10
PEER: Final = 11
ERROR_KIND: Final = 12
ATTRIBUTES: Final = 13

SpanRecord = tuple[
    datetime, str, str, str, int | None, float, str | None, str, str, str | None, str, str | None,
    str | None, str | None,
]  # fmt: skip

SERVER, CLIENT, INTERNAL = "server", "client", "internal"
TIMEOUT_KINDS = frozenset({"timeout", "connect_timeout"})


def span_failed(kind: str, status_code: int | None, method: str, error_kind: str | None) -> bool:
    """Whether a span failed, exactly as storage.SPAN_FAILED_SQL and rca.Span.failed say.

    A server span on a 5xx or a recorded failure kind other than "cancelled"
    (the client left); any other span on a 5xx, on a recorded failure kind,
    or when an HTTP call got no response at all (NULL status; a query, or a
    non-HTTP OTLP span with method "", states its failures instead).
    """
    if kind == SERVER:
        if error_kind is not None and error_kind != "cancelled":
            return True
        return status_code is not None and status_code >= 500
    if error_kind is not None:
        return True
    if status_code is None:
        return method not in ("SQL", "")
    return status_code >= 500


def to_span(record: SpanRecord) -> Span:
    """The RCA view of a record (what store.traces.trace_spans builds from a table row)."""
    return Span(
        trace_id=record[TRACE],
        span_id=record[SPAN],
        parent_span_id=record[PARENT],
        service=record[SERVICE],
        endpoint=record[ENDPOINT],
        method=record[METHOD],
        kind=record[KIND],
        status_code=record[STATUS],
        latency_ms=record[LATENCY],
        start=record[TIMESTAMP],
        peer_service=record[PEER],
        error_kind=record[ERROR_KIND],
        error_message=record[ERROR_MESSAGE],
    )
