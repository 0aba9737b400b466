"""Window aggregates read from `telemetry`, and how far the analysis has got.

Every function is one round trip on a connection the caller owns.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from aiops_engine.detection import (
    KeyKind,
    SeriesKey,
    WindowStats,
)
from aiops_telemetry import Connection

# Whether a span failed (rca.Span.failed says the same in Python): a server
# span on a 5xx or a recorded failure kind (an OTLP span's exception event or
# status ERROR can come with HTTP 200; our middleware records a kind only for
# a real failure, and "cancelled", the client having left, is not the
# server's); a client span on a 5xx, on a recorded failure kind (timeout,
# refused, ...), or when an HTTP call got no response (NULL status). A query
# span never has a status, nor does a non-HTTP OTLP span (method ''), so NULL
# alone does not make either a failure.
SPAN_FAILED_SQL = """CASE kind
            WHEN 'server' THEN coalesce(status_code >= 500, false)
                OR coalesce(error_kind <> 'cancelled', false)
            ELSE coalesce(status_code >= 500, method NOT IN ('SQL', ''))
                OR error_kind IS NOT NULL
        END"""

# Each span's series key (endpoints from server spans, caller->callee edges
# from client spans) and what is counted of it: read alike by the window
# statement here and by the per-minute rollups (rollups.py).
SPAN_KEY_SQL = f"""CASE kind WHEN 'server' THEN 'endpoint' ELSE 'edge' END AS key_kind,
        service_name AS service,
        CASE kind WHEN 'server' THEN endpoint ELSE peer_service END AS target,
        latency_ms,
        {SPAN_FAILED_SQL} AS failed,
        coalesce(error_kind IN ('timeout', 'connect_timeout'), false) AS timed_out"""

# One statement per window. The only filter on the table is the "timestamp"
# range, so the planner can serve it from the BRIN index (or any index that
# leads on the timestamp) and a cycle's cost follows the window, not history.
#
# Percentiles are percentile_cont (linear interpolation between ranks), one
# sort per key for all three. Sample traces: each trace's worst span in the
# key, then the traces worst first (failures, then slowest), distinct, so the
# samples are not three queries of one request. The window function sorts by
# the key first, so the grouping reuses its order.
WINDOW_STATS_SQL = f"""
WITH spans AS (
    SELECT
        {SPAN_KEY_SQL},
        trace_id
    FROM telemetry
    WHERE "timestamp" >= $1 AND "timestamp" < $2
        AND kind <> 'internal'  -- work inside a service: its server span speaks for it
),
-- Each key's two bars (detection's count_bars), to count its slow spans.
bars AS (
    SELECT * FROM unnest($4::text[], $5::text[], $6::text[], $7::float8[], $8::float8[])
        AS bar(key_kind, service, target, slow_ms, far_ms)
),
ranked AS (
    SELECT
        spans.*,
        row_number() OVER (
            PARTITION BY key_kind, service, target, trace_id
            ORDER BY failed DESC, latency_ms DESC
        ) AS nth_in_trace
    FROM spans
    WHERE target IS NOT NULL  -- a client span without a callee names no edge
)
SELECT
    key_kind,
    service,
    target,
    count(*) AS count,
    count(*) FILTER (WHERE failed) AS error_count,
    count(*) FILTER (WHERE timed_out) AS timeout_count,
    count(*) FILTER (WHERE latency_ms > bars.slow_ms) AS slow_count,
    count(*) FILTER (WHERE latency_ms > bars.far_ms) AS far_count,
    avg(latency_ms) AS mean_ms,
    percentile_cont(ARRAY[0.5, 0.95, 0.99]::float8[])
        WITHIN GROUP (ORDER BY latency_ms) AS percentiles,
    (array_agg(trace_id ORDER BY failed DESC, latency_ms DESC, trace_id)
        FILTER (WHERE nth_in_trace = 1))[:$3] AS sample_trace_ids
FROM ranked LEFT JOIN bars USING (key_kind, service, target)
GROUP BY key_kind, service, target
"""  # noqa: S608 (composed of constants only)


async def window_stats(
    conn: Connection,
    *,
    start: datetime,
    end: datetime,
    sample_traces: int = 3,
    bars: Mapping[SeriesKey, tuple[float, float]] | None = None,
) -> list[WindowStats]:
    """One aggregate per key with spans in `[start, end)`, in key order.

    Endpoint keys come from server spans, edge keys from client spans; a key
    with no spans in the window has no entry. A key's spans past its two
    `bars` (detection.count_bars) are counted in `slow_count` and `far_count`.
    """
    if sample_traces < 0:
        raise ValueError(f"sample_traces must be >= 0, not {sample_traces}")
    given = list((bars or {}).items())
    rows = await conn.fetch(
        WINDOW_STATS_SQL,
        start,
        end,
        sample_traces,
        [key.kind.value for key, _ in given],
        [key.service for key, _ in given],
        [key.target for key, _ in given],
        [slow for _, (slow, _far) in given],
        [far for _, (_slow, far) in given],
    )
    stats = [
        WindowStats(
            key=SeriesKey(KeyKind(row["key_kind"]), row["service"], row["target"]),
            start=start,
            end=end,
            count=row["count"],
            error_count=row["error_count"],
            timeout_count=row["timeout_count"],
            mean_ms=row["mean_ms"],
            p50_ms=row["percentiles"][0],
            p95_ms=row["percentiles"][1],
            p99_ms=row["percentiles"][2],
            sample_trace_ids=tuple(row["sample_trace_ids"]),
            slow_count=None if bars is None else row["slow_count"],
            far_count=None if bars is None else row["far_count"],
        )
        for row in rows
    ]
    # Sorted here rather than in SQL: Python's order of SeriesKey, not the collation's.
    return sorted(stats, key=lambda s: s.key)


_SAVE_PROGRESS_SQL = """
INSERT INTO analyzer_progress (last_end) VALUES ($1)
ON CONFLICT (singleton) DO UPDATE SET last_end = EXCLUDED.last_end, saved_at = now()
"""


async def save_progress(conn: Connection, last_end: datetime) -> None:
    """Record that every window up to `last_end` has been analysed."""
    await conn.execute(_SAVE_PROGRESS_SQL, last_end)


async def load_progress(conn: Connection) -> datetime | None:
    """Where the last analysed window ended, if any window ever was."""
    last_end: datetime | None = await conn.fetchval("SELECT last_end FROM analyzer_progress")
    return last_end
