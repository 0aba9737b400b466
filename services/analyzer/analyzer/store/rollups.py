"""Per-minute rollups of telemetry, written incrementally: each minute once, after it is complete.

A run rolls up the minutes from where the last one stopped
(`telemetry_rollup_progress.through`) to `delay` behind now, at most
`max_minutes` at a time, and advances the mark in the same transaction:
a crash either keeps a whole run or none of it. A rolled-up minute is
overwritten, never added to, so no span is ever counted twice; each run
also rolls the `settle` minutes before the mark again, so spans a sink
delivers late (its buffer flushing after a database outage) still count.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from aiops_telemetry import Connection

from .windows import SPAN_KEY_SQL

MINUTE = timedelta(minutes=1)
CHUNK_MINUTES = 60  # minutes rolled up per call at most
_LOCK_KEY = 0x41494F5055  # "AIOPU": one replica rolls up at a time

# The series keys are the analyzer's (store.windows.SPAN_KEY_SQL).
_ROLL_UP_SQL = f"""
WITH spans AS (
    SELECT
        date_bin('1 minute', "timestamp", TIMESTAMPTZ '2000-01-01 UTC') AS minute,
        {SPAN_KEY_SQL}
    FROM telemetry
    WHERE "timestamp" >= $1 AND "timestamp" < $2 AND kind <> 'internal'
),
rolled AS (
    SELECT
        minute, key_kind, service, target,
        count(*) AS requests,
        count(*) FILTER (WHERE failed) AS errors,
        count(*) FILTER (WHERE timed_out) AS timeouts,
        sum(latency_ms) AS latency_sum_ms,
        max(latency_ms) AS latency_max_ms,
        percentile_cont(ARRAY[0.5, 0.95, 0.99]::float8[])
            WITHIN GROUP (ORDER BY latency_ms) AS pct
    FROM spans
    WHERE target IS NOT NULL
    GROUP BY minute, key_kind, service, target
)
INSERT INTO telemetry_minutes AS m (
    minute, kind, service, target, requests, errors, timeouts,
    latency_sum_ms, latency_max_ms, p50_ms, p95_ms, p99_ms
)
SELECT minute, key_kind, service, target, requests, errors, timeouts,
       latency_sum_ms, latency_max_ms, pct[1], pct[2], pct[3]
FROM rolled
ON CONFLICT (minute, kind, service, target) DO UPDATE SET
    requests = EXCLUDED.requests,
    errors = EXCLUDED.errors,
    timeouts = EXCLUDED.timeouts,
    latency_sum_ms = EXCLUDED.latency_sum_ms,
    latency_max_ms = EXCLUDED.latency_max_ms,
    p50_ms = EXCLUDED.p50_ms,
    p95_ms = EXCLUDED.p95_ms,
    p99_ms = EXCLUDED.p99_ms
"""  # noqa: S608 (composed of constants only)

_SAVE_PROGRESS_SQL = """
INSERT INTO telemetry_rollup_progress (through) VALUES ($1)
ON CONFLICT (singleton) DO UPDATE SET through = EXCLUDED.through, saved_at = now()
"""


def floor_minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


async def roll_up_range(conn: Connection, start: datetime, end: datetime) -> None:
    """(Re)write the rollups of the minutes in `[start, end)`, whole minutes; no mark moves."""
    await conn.execute(_ROLL_UP_SQL, floor_minute(start), floor_minute(end))


async def roll_up(
    conn: Connection,
    *,
    now: datetime,
    delay: timedelta = timedelta(minutes=2),
    max_minutes: int = CHUNK_MINUTES,
    first: timedelta = timedelta(days=7),
    settle: timedelta = timedelta(minutes=5),
) -> int:
    """Roll up the next complete minutes; how many were rolled up (0: up to date, or busy).

    With no mark yet, it starts `first` back (the telemetry still held) and
    catches up `max_minutes` per call.
    """
    async with conn.transaction():
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _LOCK_KEY):
            return 0
        through: datetime | None = await conn.fetchval(
            "SELECT through FROM telemetry_rollup_progress"
        )
        if through is None:
            through = floor_minute(now - first)
        end = min(floor_minute(now - delay), through + max_minutes * MINUTE)
        if end <= through:
            return 0
        await roll_up_range(conn, through - settle, end)
        await conn.execute(_SAVE_PROGRESS_SQL, end)
        return int((end - through) / MINUTE)
