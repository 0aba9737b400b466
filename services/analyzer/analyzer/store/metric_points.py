"""OTLP metric points as the analyzer reads them, and their per-minute rollups.

`metric_points` holds what ingest took (telemetry migration 0005): values
ready to read (gauge, rate, count, mean, p50, p95) and running totals as
sent (`cumulative` counters, `histogram` states). The receiver keeps no
state, so the totals become rates and per-interval histogram values here,
from consecutive points of one series with the same start time:

- rate = increase / seconds between the two points; a histogram's interval
  is the difference of its counts, sum and buckets (`aiops_telemetry.histograms`);
- a point with a new start time (a restarted process) counts from zero over
  [start, time] when nothing of that series and start came before: OTLP's
  cumulative values count from their start;
- a total that went down without a new start (a reset the sender did not
  say), a point at the same time as its predecessor, or one whose start is
  unknown with no predecessor gives nothing for that interval;
- predecessors are looked for `lookback` before the range: a counter sent
  less often than that gives no rate.

Points of different start times in one series (replicas of a service without
distinct attributes) are told apart by their start, so their totals never mix.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from aiops_telemetry import Connection
from aiops_telemetry.histograms import histogram_values
from aiops_telemetry.metric_rows import CUMULATIVE, HISTOGRAM, RATE, with_kind

from .rollups import MINUTE, floor_minute

LOOKBACK = timedelta(minutes=15)
CHUNK_MINUTES = 60  # minutes rolled up per call at most
_LOCK_KEY = 0x41494F504D  # "AIOPM": one replica rolls metrics up at a time
_RUNNING = (CUMULATIVE, HISTOGRAM)

Row = asyncpg.Record | Mapping[str, Any]  # a metric_points row, read or built by hand

# The range's points, and running totals from `lookback` before it (their predecessors).
_POINTS_SQL = """
SELECT "time", series, service, name, kind, value, unit, attributes,
       start_time, sum, bounds, bucket_counts
FROM metric_points
WHERE "time" >= $1 AND "time" < $3 AND ("time" >= $2 OR kind = ANY($4::text[]))
ORDER BY series, "time"
"""


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """One value of one series at one time, as the analyzer reads it."""

    time: datetime
    series: str  # service:name[.kind]{attributes} (aiops_telemetry.metric_rows)
    value: float
    kind: str  # gauge, rate, count, mean, p50 or p95
    service: str
    name: str  # the metric's name
    unit: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)  # the point's


async def points_between(
    conn: Connection, start: datetime, end: datetime, *, lookback: timedelta = LOOKBACK
) -> list[MetricPoint]:
    """Every series' values dated in [start, end), ordered by series, then time."""
    rows = await conn.fetch(_POINTS_SQL, start - lookback, start, end, list(_RUNNING))
    points = list(derive(rows, start=start, scan_from=start - lookback))
    points.sort(key=lambda p: (p.series, p.time))
    return points


def derive(rows: Iterable[Row], *, start: datetime, scan_from: datetime) -> Iterable[MetricPoint]:
    """The values of `rows` (ordered by series, time) dated from `start`; running totals
    from `scan_from` on are read only as predecessors of later ones."""
    series: str | None = None
    previous: dict[tuple[str, datetime | None], Row] = {}  # in `series`
    for row in rows:
        if row["series"] != series:
            series, previous = row["series"], {}
        kind = row["kind"]
        if kind not in _RUNNING:
            if row["time"] >= start:
                yield _point(row, row["series"], kind, row["value"])
            continue
        stream = (kind, row["start_time"])
        before = previous.get(stream)
        previous[stream] = row
        if row["time"] < start:
            continue
        if before is None:
            fresh = row["start_time"] is not None and scan_from <= row["start_time"] < row["time"]
            if fresh:
                yield from _interval(row, None, (row["time"] - row["start_time"]).total_seconds())
        elif row["time"] > before["time"]:
            yield from _interval(row, before, (row["time"] - before["time"]).total_seconds())


def _interval(row: Row, before: Row | None, seconds: float) -> Iterable[MetricPoint]:
    """What a running total says of the interval since `before` (None: since its start)."""
    increase = row["value"] - (before["value"] if before is not None else 0.0)
    if increase < 0:
        return  # a reset the sender did not announce
    if row["kind"] == CUMULATIVE:
        yield _point(row, with_kind(row["series"], RATE), RATE, increase / seconds)
        return
    counts: Sequence[float] = row["bucket_counts"] or ()
    total: float | None = row["sum"]
    if before is not None:
        if list(before["bounds"] or ()) != list(row["bounds"] or ()):
            return  # the buckets changed: not comparable
        earlier: Sequence[float] = before["bucket_counts"] or ()
        if len(earlier) != len(counts):
            return
        counts = [now - then for now, then in zip(counts, earlier, strict=True)]
        if any(n < 0 for n in counts):
            return
        total = None if total is None or before["sum"] is None else total - before["sum"]
    for kind, value in histogram_values(increase, total, row["bounds"] or (), counts):
        yield _point(row, with_kind(row["series"], kind), kind, value)


def _point(row: Row, series: str, kind: str, value: float) -> MetricPoint:
    attributes = row["attributes"]
    return MetricPoint(
        time=row["time"],
        series=series,
        value=value,
        kind=kind,
        service=row["service"],
        name=row["name"],
        unit=row["unit"],
        attributes=json.loads(attributes) if attributes else {},
    )


# Rollups ---------------------------------------------------------------------------------

_WRITE_MINUTES_SQL = """
INSERT INTO metric_minutes AS m (
    minute, series, service, name, kind, points, value_sum, value_min, value_max
)
SELECT * FROM unnest(
    $1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
    $7::float8[], $8::float8[], $9::float8[]
)
ON CONFLICT (minute, series) DO UPDATE SET
    points = EXCLUDED.points,
    value_sum = EXCLUDED.value_sum,
    value_min = EXCLUDED.value_min,
    value_max = EXCLUDED.value_max
"""

_SAVE_PROGRESS_SQL = """
INSERT INTO metric_rollup_progress (through) VALUES ($1)
ON CONFLICT (singleton) DO UPDATE SET through = EXCLUDED.through, saved_at = now()
"""


@dataclass(slots=True)
class _Minute:
    """One series' values in one minute, as they are added up."""

    service: str
    name: str
    kind: str
    points: int = 0
    total: float = 0.0
    low: float = math.inf
    high: float = -math.inf

    def add(self, value: float) -> None:
        self.points += 1
        self.total += value
        self.low = min(self.low, value)
        self.high = max(self.high, value)


async def roll_up_metric_range(conn: Connection, start: datetime, end: datetime) -> int:
    """(Re)write the rollups of the minutes in `[start, end)` from the values
    `points_between` reads; how many (minute, series) rows were written."""
    minutes: dict[tuple[datetime, str], _Minute] = {}
    for point in await points_between(conn, floor_minute(start), floor_minute(end)):
        key = (floor_minute(point.time), point.series)
        found = minutes.get(key)
        if found is None:
            found = minutes[key] = _Minute(point.service, point.name, point.kind)
        found.add(point.value)
    if minutes:
        keys, sums = list(minutes), list(minutes.values())
        await conn.execute(
            _WRITE_MINUTES_SQL,
            [minute for minute, _ in keys],
            [series for _, series in keys],
            [m.service for m in sums],
            [m.name for m in sums],
            [m.kind for m in sums],
            [m.points for m in sums],
            [m.total for m in sums],
            [m.low for m in sums],
            [m.high for m in sums],
        )
    return len(minutes)


async def roll_up_metrics(
    conn: Connection,
    *,
    now: datetime,
    delay: timedelta = timedelta(minutes=2),
    max_minutes: int = CHUNK_MINUTES,
    first: timedelta = timedelta(days=7),
    settle: timedelta = timedelta(minutes=5),
) -> int:
    """Roll up the next complete minutes of metrics; how many (0: up to date, or busy).

    As `rollups.roll_up` does for spans: from the mark (or `first` back), at most
    `max_minutes` a call, the `settle` minutes before the mark again for late points,
    the mark moved in the same transaction.
    """
    async with conn.transaction():
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _LOCK_KEY):
            return 0
        through: datetime | None = await conn.fetchval("SELECT through FROM metric_rollup_progress")
        if through is None:
            through = floor_minute(now - first)
        end = min(floor_minute(now - delay), through + max_minutes * MINUTE)
        if end <= through:
            return 0
        await roll_up_metric_range(conn, through - settle, end)
        await conn.execute(_SAVE_PROGRESS_SQL, end)
        return int((end - through) / MINUTE)
