"""One telemetry row: a server span or a client span, as the `telemetry` table stores it."""

from __future__ import annotations

from datetime import UTC, datetime

SERVER = "server"
CLIENT = "client"
INTERNAL = "internal"  # work inside one service (OTLP INTERNAL spans); no key of its own

COLUMNS: tuple[str, ...] = (
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

# A row is an exact tuple in COLUMNS order, not a NamedTuple: CPython stops
# tracking exact tuples of plain values in the garbage collector, while
# tuple subclasses stay tracked, and thousands of buffered rows that the
# collector rescans cost more per request than the middleware itself.
SpanRow = tuple[
    datetime, str, str, str, int | None, float, str | None, str, str, str | None, str, str | None,
    str | None, str | None,
]  # fmt: skip


def span_row(
    *,
    timestamp: datetime,
    service_name: str,
    endpoint: str,
    method: str,
    status_code: int | None,
    latency_ms: float,
    error_message: str | None,
    trace_id: str,
    span_id: str,
    parent_span_id: str | None,
    kind: str,
    peer_service: str | None,
    error_kind: str | None,
    attributes: str | None = None,
) -> SpanRow:
    """A row in COLUMNS order; `attributes` is a JSON object's text (the column is jsonb)."""
    return (
        timestamp, service_name, endpoint, method, status_code, latency_ms, error_message,
        trace_id, span_id, parent_span_id, kind, peer_service, error_kind, attributes,
    )  # fmt: skip


def error_text(text: str, limit: int = 8_000) -> str:
    """Error text fit to store: bounded (rows are counted, not weighed) and NUL-free.

    PostgreSQL text cannot hold NUL, and a row it rejects is a row lost.
    """
    text = text.replace("\x00", "\\0")
    return text if len(text) <= limit else text[: limit - 20] + "\n… (truncated)"


def describe_error(exc: BaseException, limit: int = 2_000) -> str:
    """`Type: message` of an exception, as stored and reported."""
    return error_text(f"{type(exc).__name__}: {exc}", limit)


def wall_clock(epoch_seconds: float) -> datetime:
    """A span's start as `timestamptz`, keeping microseconds."""
    return datetime.fromtimestamp(epoch_seconds, UTC)
