"""One telemetry row: a server span or a client span, as the `telemetry` table stores it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

SERVER = "server"
CLIENT = "client"


class SpanRow(NamedTuple):
    """A row of `telemetry`; field order is the COPY column order."""

    timestamp: datetime
    service_name: str
    endpoint: str
    method: str
    status_code: int | None
    latency_ms: float
    error_message: str | None
    trace_id: str
    span_id: str
    parent_span_id: str | None
    kind: str
    peer_service: str | None
    error_kind: str | None


COLUMNS: tuple[str, ...] = SpanRow._fields


def wall_clock(epoch_seconds: float) -> datetime:
    """A span's start as `timestamptz`, keeping microseconds."""
    return datetime.fromtimestamp(epoch_seconds, UTC)
