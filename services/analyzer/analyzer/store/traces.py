"""PostgreSQL I/O for root-cause analysis: the spans of given traces, and the dependency graph.

Each function is one round trip on a connection the caller owns.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from aiops_engine.rca import Dependency, DependencyGraph, Span
from aiops_telemetry import Connection

from .windows import SPAN_FAILED_SQL

_TRACE_SPANS_SQL = """
SELECT trace_id, span_id, parent_span_id, service_name, endpoint, method, kind,
       status_code, latency_ms, "timestamp", peer_service, error_kind, error_message
FROM telemetry_all  -- telemetry, and the evidence kept past retention
WHERE trace_id = ANY($1::text[])
ORDER BY "timestamp", span_id
LIMIT $2
"""

# Client spans of the window paired with the server span each one caused
# (its child). The callee is the service that recorded that server span, or,
# when there is none (refused, timed out, a database), the peer the caller
# named. The server side is searched a little beyond the window, because
# services' clocks disagree and a call may start near the window's edge.
# Both sides are read by time range alone (the BRIN index) and materialized,
# so they meet in a hash join: probing the trace-id index once per call
# would cost more the longer the history is.
_WINDOW_DEPENDENCIES_SQL = f"""
WITH calls AS MATERIALIZED (
    SELECT service_name, peer_service, trace_id, span_id, "timestamp",
           {SPAN_FAILED_SQL} AS failed
    FROM telemetry
    WHERE "timestamp" >= $1 AND "timestamp" < $2 AND kind = 'client'
),
served AS MATERIALIZED (
    SELECT service_name, trace_id, parent_span_id
    FROM telemetry
    WHERE "timestamp" >= $1 - $3::interval AND "timestamp" < $2 + $3::interval
        AND kind = 'server' AND parent_span_id IS NOT NULL
)
SELECT
    c.service_name AS caller,
    coalesce(s.service_name, c.peer_service) AS callee,
    count(*) AS calls,
    count(*) FILTER (WHERE c.failed) AS errors,
    min(c."timestamp") AS first_seen,
    max(c."timestamp") AS last_seen
FROM calls AS c
LEFT JOIN served AS s ON s.trace_id = c.trace_id AND s.parent_span_id = c.span_id
WHERE coalesce(s.service_name, c.peer_service) IS NOT NULL
GROUP BY 1, 2
"""  # noqa: S608 (composed of constants only)

_SAVE_DEPENDENCIES_SQL = """
INSERT INTO analyzer_dependencies AS d (caller, callee, calls, errors, first_seen, last_seen)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[],
                     $5::timestamptz[], $6::timestamptz[])
ON CONFLICT (caller, callee) DO UPDATE SET
    calls = d.calls + EXCLUDED.calls,
    errors = d.errors + EXCLUDED.errors,
    first_seen = least(d.first_seen, EXCLUDED.first_seen),
    last_seen = greatest(d.last_seen, EXCLUDED.last_seen)
"""

_LOAD_DEPENDENCIES_SQL = """
SELECT caller, callee, calls, errors, first_seen, last_seen
FROM analyzer_dependencies
ORDER BY caller, callee
"""


async def trace_spans(
    conn: Connection, trace_ids: Iterable[str], *, max_spans: int = 10_000
) -> dict[str, list[Span]]:
    """The recorded spans of each trace (by the trace-id index), in start order."""
    ids = sorted(set(trace_ids))
    if not ids:
        return {}
    traces: dict[str, list[Span]] = {}
    for row in await conn.fetch(_TRACE_SPANS_SQL, ids, max_spans):
        traces.setdefault(row["trace_id"], []).append(
            Span(
                trace_id=row["trace_id"],
                span_id=row["span_id"],
                parent_span_id=row["parent_span_id"],
                service=row["service_name"],
                endpoint=row["endpoint"],
                method=row["method"],
                kind=row["kind"],
                status_code=row["status_code"],
                latency_ms=row["latency_ms"],
                start=row["timestamp"],
                peer_service=row["peer_service"],
                error_kind=row["error_kind"],
                error_message=row["error_message"],
            )
        )
    return traces


async def window_dependencies(
    conn: Connection, *, start: datetime, end: datetime, clock_slack_s: float = 2.0
) -> list[Dependency]:
    """The caller→callee edges seen in `[start, end)`, with that window's counts."""
    rows = await conn.fetch(_WINDOW_DEPENDENCIES_SQL, start, end, timedelta(seconds=clock_slack_s))
    return [Dependency(**dict(row)) for row in rows]


async def save_dependencies(conn: Connection, observed: Iterable[Dependency]) -> None:
    """Add one window's counts to the stored graph."""
    edges = list(observed)
    if not edges:
        return
    await conn.execute(
        _SAVE_DEPENDENCIES_SQL,
        [d.caller for d in edges],
        [d.callee for d in edges],
        [d.calls for d in edges],
        [d.errors for d in edges],
        [d.first_seen for d in edges],
        [d.last_seen for d in edges],
    )


async def load_dependencies(conn: Connection) -> DependencyGraph:
    return DependencyGraph.of(
        Dependency(**dict(row)) for row in await conn.fetch(_LOAD_DEPENDENCIES_SQL)
    )
