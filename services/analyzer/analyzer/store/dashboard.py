"""PostgreSQL I/O for the dashboard: each endpoint's median latency over recent buckets.

One round trip on a connection the caller owns, like `store.windows.window_stats`.
Ranges longer than `RAW_RANGE` are read from the per-minute rollups
(`telemetry_minutes`, complete up to two minutes ago), so a 90-day chart costs
minutes, not spans.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from aiops_engine.detection import SeriesKey
from aiops_telemetry import Connection

# As in store.windows.WINDOW_STATS_SQL, the table is read by "timestamp" range (the
# BRIN index), so the cost follows the range asked for, not the history kept.
# Buckets are cut on the epoch rather than on the analyzer's windows: any
# replica answers the same, and a bucket is as long as a window.
_LATENCY_SQL = """
SELECT
    service_name AS service,
    endpoint,
    to_timestamp(floor(extract(epoch FROM "timestamp")::float8 / $3) * $3) AS bucket,
    count(*) AS count,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50_ms
FROM telemetry
WHERE "timestamp" >= $1 AND "timestamp" < $2 AND kind = 'server'
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
"""

RAW_RANGE = timedelta(hours=6)

# A bucket's median from its minutes': their medians weighted by requests.
_ROLLUP_LATENCY_SQL = """
SELECT
    service,
    target AS endpoint,
    date_bin(make_interval(secs => $3), minute, TIMESTAMPTZ 'epoch') AS bucket,
    sum(requests)::bigint AS count,
    sum(p50_ms * requests) / sum(requests) AS p50_ms
FROM telemetry_minutes
WHERE minute >= $1 AND minute < $2 AND kind = 'endpoint'
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
"""


@dataclass(frozen=True, slots=True)
class LatencyPoint:
    """One bucket of one endpoint: when it starts, how many requests, their median."""

    start: datetime
    count: int
    p50_ms: float


async def latency_buckets(
    conn: Connection, *, start: datetime, end: datetime, bucket_s: float
) -> dict[SeriesKey, list[LatencyPoint]]:
    """Per endpoint key with server spans in `[start, end)`, its buckets in time order.

    A bucket with no requests has no point: a gap in the chart, not a zero.
    """
    if bucket_s <= 0:
        raise ValueError(f"bucket_s must be > 0, not {bucket_s}")
    query = _ROLLUP_LATENCY_SQL if end - start > RAW_RANGE else _LATENCY_SQL
    series: dict[SeriesKey, list[LatencyPoint]] = {}
    for row in await conn.fetch(query, start, end, bucket_s):
        key = SeriesKey.endpoint(row["service"], row["endpoint"])
        point = LatencyPoint(start=row["bucket"], count=row["count"], p50_ms=row["p50_ms"])
        series.setdefault(key, []).append(point)
    return series
