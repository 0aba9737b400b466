"""The analyzer's PostgreSQL I/O: window aggregates from `telemetry`, baselines and anomalies.

Every function is one round trip on a connection the caller owns. The
tables are created by `migrations/0001_analyzer.sql`, applied with
`apply_migrations(conn, component="analyzer", package="analyzer")`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from aiops_engine.detection import (
    Anomaly,
    AnomalyType,
    Baseline,
    DetectionConfig,
    KeyKind,
    SeriesKey,
    WindowStats,
    is_established,
    latency_threshold,
)
from aiops_telemetry import Connection

# Settings of every analyzer session. Its statements read seconds of spans,
# but over weeks of day partitions the planner's estimate passes
# jit_above_cost, and compiling a statement took 20-30 ms, more than running
# it (`BENCH_ONLY=L make bench`: 9 ms cycles became 40 ms once five days were held).
SESSION_SETTINGS = {"jit": "off"}

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

_LOAD_BASELINES_SQL = """
SELECT kind, service, target, level_ms, spread_ms, rate_per_s, error_rate,
       samples, windows, updated_at, tail_ms, slow_rate, far_rate, traffic_windows
FROM analyzer_baselines
"""

# unnest of one array per column: any number of baselines in one statement.
_SAVE_BASELINES_SQL = """
INSERT INTO analyzer_baselines AS b (
    kind, service, target, level_ms, spread_ms, rate_per_s, error_rate,
    samples, windows, updated_at, threshold_ms, tail_ms, slow_rate, far_rate, traffic_windows
)
SELECT * FROM unnest(
    $1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::float8[],
    $7::float8[], $8::bigint[], $9::bigint[], $10::timestamptz[], $11::float8[],
    $12::float8[], $13::float8[], $14::float8[], $15::bigint[]
)
ON CONFLICT (kind, service, target) DO UPDATE SET
    level_ms = EXCLUDED.level_ms,
    spread_ms = EXCLUDED.spread_ms,
    rate_per_s = EXCLUDED.rate_per_s,
    error_rate = EXCLUDED.error_rate,
    samples = EXCLUDED.samples,
    windows = EXCLUDED.windows,
    updated_at = EXCLUDED.updated_at,
    threshold_ms = EXCLUDED.threshold_ms,
    tail_ms = EXCLUDED.tail_ms,
    slow_rate = EXCLUDED.slow_rate,
    far_rate = EXCLUDED.far_rate,
    traffic_windows = EXCLUDED.traffic_windows,
    saved_at = now()
"""

_ANOMALY_COLUMNS = (
    "type, kind, service, target, observed, baseline, threshold, window_start, "
    "window_end, sample_count, score, sample_trace_ids, explanation"
)

_SAVE_ANOMALY_SQL = f"""
INSERT INTO analyzer_anomalies (detected_at, {_ANOMALY_COLUMNS})
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
"""  # noqa: S608 (composed of constants only)

# Newest cycle first; within a cycle, the order it was saved in (highest score first).
_RECENT_ANOMALIES_SQL = f"""
SELECT {_ANOMALY_COLUMNS}
FROM analyzer_anomalies
WHERE detected_at >= $1
ORDER BY detected_at DESC, id
LIMIT $2
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


async def load_baselines(conn: Connection) -> dict[SeriesKey, Baseline]:
    """Every stored baseline, by key."""
    baselines = {}
    for row in await conn.fetch(_LOAD_BASELINES_SQL):
        key = SeriesKey(KeyKind(row["kind"]), row["service"], row["target"])
        baselines[key] = Baseline(
            key=key,
            level_ms=row["level_ms"],
            spread_ms=row["spread_ms"],
            rate_per_s=row["rate_per_s"],
            error_rate=row["error_rate"],
            samples=row["samples"],
            windows=row["windows"],
            updated_at=row["updated_at"],
            tail_ms=row["tail_ms"],
            slow_rate=row["slow_rate"],
            far_rate=row["far_rate"],
            traffic_windows=row["traffic_windows"],
        )
    return baselines


async def save_baselines(
    conn: Connection,
    baselines: Mapping[SeriesKey, Baseline],
    config: DetectionConfig = DetectionConfig(),  # frozen, so one shared default is safe
) -> None:
    """Insert or overwrite the given baselines; keys not given are left as they are.

    Each is stored with the latency threshold `config` gives it (NULL while
    it is not established), for psql and Grafana to show.
    """
    if not baselines:
        return
    values = list(baselines.values())
    if misfiled := [key for key, b in baselines.items() if b.key != key]:
        raise ValueError(f"baselines stored under another key: {misfiled}")
    await conn.execute(
        _SAVE_BASELINES_SQL,
        [b.key.kind.value for b in values],
        [b.key.service for b in values],
        [b.key.target for b in values],
        [b.level_ms for b in values],
        [b.spread_ms for b in values],
        [b.rate_per_s for b in values],
        [b.error_rate for b in values],
        [b.samples for b in values],
        [b.windows for b in values],
        [b.updated_at for b in values],
        [latency_threshold(b, config) if is_established(b, config) else None for b in values],
        [b.tail_ms for b in values],
        [b.slow_rate for b in values],
        [b.far_rate for b in values],
        [b.traffic_windows for b in values],
    )


async def save_anomalies(
    conn: Connection, anomalies: Sequence[Anomaly], *, detected_at: datetime
) -> None:
    """Append `anomalies`, found by the cycle at `detected_at`, to the history.

    executemany rather than unnest: the trace id lists differ in length, and
    PostgreSQL has no ragged arrays. asyncpg pipelines it in one round trip
    and runs it atomically.
    """
    if not anomalies:
        return
    await conn.executemany(
        _SAVE_ANOMALY_SQL,
        [
            (
                detected_at,
                a.type.value,
                a.key.kind.value,
                a.key.service,
                a.key.target,
                a.observed,
                a.baseline,
                a.threshold,
                a.window_start,
                a.window_end,
                a.sample_count,
                a.score,
                list(a.sample_trace_ids),
                a.explanation,
            )
            for a in anomalies
        ],
    )


async def recent_anomalies(conn: Connection, *, since: datetime, limit: int = 100) -> list[Anomaly]:
    """Anomalies detected at or after `since`, newest cycle first, at most `limit`."""
    rows = await conn.fetch(_RECENT_ANOMALIES_SQL, since, limit)
    return [
        Anomaly(
            type=AnomalyType(row["type"]),
            key=SeriesKey(KeyKind(row["kind"]), row["service"], row["target"]),
            observed=row["observed"],
            baseline=row["baseline"],
            threshold=row["threshold"],
            window_start=row["window_start"],
            window_end=row["window_end"],
            sample_count=row["sample_count"],
            score=row["score"],
            sample_trace_ids=tuple(row["sample_trace_ids"]),
            explanation=row["explanation"],
        )
        for row in rows
    ]


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
