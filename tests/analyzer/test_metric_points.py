"""Metric points as the analyzer reads them (running totals into rates and per-interval
histograms, resets skipped), and their lifecycle on a real PostgreSQL of their own: day
partitions dropped past retention once rolled up, each minute rolled up once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from aiops_telemetry.metric_rows import METRIC_COLUMNS, MetricRow, metric_row
from analyzer.store.metric_points import LOOKBACK, MetricPoint, derive, points_between
from analyzer.store.metric_points import roll_up_metrics as roll_up
from analyzer.store.retention import RetentionPolicy, maintain_partitions
from analyzer.store.rollups import floor_minute
from tests.support.telemetry_rows import schema_connection

T0 = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
S = timedelta(seconds=1)
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)


def row(
    series: str,
    at: datetime,
    value: float,
    *,
    kind: str = "cumulative",
    start: datetime | None = None,
    total: float | None = None,
    bounds: list[float] | None = None,
    counts: list[float] | None = None,
) -> MetricRow:
    return metric_row(
        time=at,
        series=series,
        service=series.split(":")[0],
        name=series.split(":")[1].split("{")[0],
        kind=kind,
        value=value,
        attributes='{"k":"v"}',
        start_time=start,
        total=total,
        bounds=bounds,
        bucket_counts=counts,
    )


def read(rows: list[MetricRow], start: datetime = T0) -> list[tuple[str, datetime, float]]:
    records = [dict(zip(METRIC_COLUMNS, r, strict=True)) for r in rows]
    records.sort(key=lambda r: (r["series"], r["time"]))
    found = derive(records, start=start, scan_from=start - LOOKBACK)
    return sorted((p.series, p.time, p.value) for p in found)


def test_a_running_total_is_a_rate_between_points_and_from_its_start() -> None:
    start = T0 - 10 * S
    rows = [
        row("svc:req", T0, 100, start=start),  # 100 since its start 10 s before: 10/s
        row("svc:req", T0 + 30 * S, 160, start=start),  # 60 in 30 s
        row("svc:req", T0 + 60 * S, 130, start=start),  # went down, same start: skipped
        row("svc:req", T0 + 90 * S, 190, start=start),  # 60 in 30 s after the drop
        row("svc:req", T0 + 120 * S, 40, start=T0 + 100 * S),  # restarted: 40 in 20 s
    ]
    assert read(rows) == [
        ("svc:req.rate", T0, 10.0),
        ("svc:req.rate", T0 + 30 * S, 2.0),
        ("svc:req.rate", T0 + 90 * S, 2.0),
        ("svc:req.rate", T0 + 120 * S, 2.0),
    ]


def test_a_total_without_a_known_predecessor_or_start_gives_no_rate() -> None:
    long_ago = T0 - 2 * LOOKBACK
    rows = [
        row("svc:a", T0, 100, start=long_ago),  # what came before it is out of sight
        row("svc:a", T0 + 10 * S, 120, start=long_ago),
        row("svc:b", T0, 100),  # start unknown
        row("svc:b", T0 + 10 * S, 150),
        row("svc:b", T0 + 10 * S, 150),  # the same point again
    ]
    assert read(rows) == [
        ("svc:a.rate", T0 + 10 * S, 2.0),
        ("svc:b.rate", T0 + 10 * S, 5.0),
    ]


def test_replicas_in_one_series_are_told_apart_by_their_start() -> None:
    one, two = T0 - 600 * S, T0 - 300 * S
    rows = [
        row("svc:req", T0 - 10 * S, 1_000, start=one),  # before the range: predecessors only
        row("svc:req", T0 - 5 * S, 50, start=two),
        row("svc:req", T0, 1_010, start=one),
        row("svc:req", T0 + 5 * S, 60, start=two),
    ]
    assert read(rows) == [("svc:req.rate", T0, 1.0), ("svc:req.rate", T0 + 5 * S, 1.0)]


def test_a_cumulative_histogram_is_summarised_per_interval() -> None:
    start = T0 - 10 * S
    bounds = [10.0, 20.0]
    rows = [
        row("api:lat", T0, 4, kind="histogram", start=start, total=40, bounds=bounds,
            counts=[4, 0, 0]),
        row("api:lat", T0 + 10 * S, 8, kind="histogram", start=start, total=120,
            bounds=bounds, counts=[4, 4, 0]),
        row("api:lat", T0 + 20 * S, 8, kind="histogram", start=start, total=120,
            bounds=bounds, counts=[4, 4, 0]),
    ]  # fmt: skip
    assert read(rows) == [
        ("api:lat.count", T0, 4.0),
        ("api:lat.count", T0 + 10 * S, 4.0),
        ("api:lat.count", T0 + 20 * S, 0.0),  # nothing in that interval
        ("api:lat.mean", T0, 10.0),
        ("api:lat.mean", T0 + 10 * S, 20.0),  # (120 - 40) / 4
        ("api:lat.p50", T0, 5.0),  # half way into (0, 10]
        ("api:lat.p50", T0 + 10 * S, 15.0),  # half way into (10, 20]
        ("api:lat.p95", T0, 9.5),
        ("api:lat.p95", T0 + 10 * S, 19.5),
    ]


def test_values_ready_to_read_come_as_they_are_within_the_range() -> None:
    rows = [
        row("svc:g", T0 - S, 1.0, kind="gauge"),
        row("svc:g", T0, 2.0, kind="gauge"),
        row("svc:c.rate", T0, 3.0, kind="rate"),
    ]
    assert read(rows) == [("svc:c.rate", T0, 3.0), ("svc:g", T0, 2.0)]


# On PostgreSQL ----------------------------------------------------------------------------


@pytest.fixture
async def conn(fresh_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """An empty database of its own, with the telemetry and analyzer schemas."""
    async with schema_connection(fresh_database_url, analyzer=True) as conn:
        yield conn


async def write(conn: asyncpg.Connection, rows: list[MetricRow]) -> None:
    await conn.copy_records_to_table("metric_points", records=rows, columns=METRIC_COLUMNS)


async def partitions(conn: asyncpg.Connection, table: str) -> list[str]:
    return [
        r[0] for r in await conn.fetch("SELECT partition::text FROM aiops_partitions($1)", table)
    ]


async def test_points_between_reads_the_range_with_the_predecessors_before_it(
    conn: asyncpg.Connection,
) -> None:
    start = T0 - 100 * S
    await write(
        conn,
        [
            row("svc:req", T0 - 20 * S, 100, start=start),
            row("svc:req", T0, 130, start=start),
            row("svc:g", T0 + S, 7.0, kind="gauge"),
            row("svc:g", T0 + 10 * S, 8.0, kind="gauge"),  # past the end
        ],
    )
    got = await points_between(conn, T0, T0 + 10 * S)
    assert got == [
        MetricPoint(T0 + S, "svc:g", 7.0, "gauge", "svc", "g", "", {"k": "v"}),
        MetricPoint(T0, "svc:req.rate", 1.5, "rate", "svc", "req", "", {"k": "v"}),
    ]


async def test_metric_days_are_dropped_once_past_retention_and_rolled_up(
    conn: asyncpg.Connection,
) -> None:
    now = datetime.now(UTC)
    await write(
        conn, [row("svc:g", now, 1.0, kind="gauge"), row("svc:g", now + 3 * DAY, 2.0, kind="gauge")]
    )
    today = f"metric_points_p{now:%Y%m%d}"
    later = now + 9 * DAY
    policy = RetentionPolicy()
    report = await maintain_partitions(conn, policy, now=later)
    assert today not in report.dropped  # not rolled up yet
    assert today in await partitions(conn, "metric_points")
    assert f"metric_minutes_p{later + 2 * DAY:%Y%m%d}" in await partitions(conn, "metric_minutes")

    assert await roll_up(conn, now=later, first=policy.metric_points) == 60
    report = await maintain_partitions(conn, policy, now=later)
    assert today in report.dropped
    assert f"metric_points_p{later + 2 * DAY:%Y%m%d}" in await partitions(conn, "metric_points")
    assert await conn.fetchval("SELECT count(*) FROM metric_points") == 1  # 3 days later

    shorter = RetentionPolicy(metrics=timedelta(days=1))  # AIOPS_METRICS_RETENTION
    await roll_up(conn, now=now + 5 * DAY, first=timedelta(days=4), max_minutes=10**6)
    report = await maintain_partitions(conn, shorter, now=now + 5 * DAY)
    assert f"metric_points_p{now + 3 * DAY:%Y%m%d}" in report.dropped
    assert not any(name.startswith("telemetry_p") for name in report.dropped)


async def test_each_minute_of_metrics_is_rolled_up_once_from_the_values_read(
    conn: asyncpg.Connection,
) -> None:
    now = datetime.now(UTC)
    first = floor_minute(now) - 10 * MINUTE
    rows: list[MetricRow] = []
    for minute in range(4):
        for i in range(6):  # every 10 s
            at = first + minute * MINUTE + i * 10 * S
            rows.append(row("svc:g", at, float(minute * 10 + i), kind="gauge"))
            rows.append(row("svc:req", at, 2.0 * (at - first).total_seconds(), start=first))
    await write(conn, rows)

    assert await roll_up(conn, now=now, first=now - first) == 8
    assert await roll_up(conn, now=now, first=now - first) == 0  # up to date
    got = await conn.fetch(
        "SELECT minute, series, kind, points, value_sum, value_min, value_max "
        "FROM metric_minutes ORDER BY series, minute"
    )
    gauges = [tuple(r.values())[1:] for r in got if r["series"] == "svc:g"]
    assert gauges == [
        ("svc:g", "gauge", 6, sum(m * 10 + i for i in range(6)), m * 10.0, m * 10.0 + 5)
        for m in range(4)
    ]
    rates = [(r["points"], r["value_min"], r["value_max"]) for r in got if r["kind"] == "rate"]
    assert rates == [(5, 2.0, 2.0)] + [(6, 2.0, 2.0)] * 3  # the first point has no interval

    await conn.execute("DELETE FROM metric_rollup_progress")  # rolled up again: overwritten
    assert await roll_up(conn, now=now, first=now - first) == 8
    hourly: Any = await conn.fetch(  # the minutes may straddle an hour: added up again
        "SELECT series, sum(points)::int, sum(mean * points) / sum(points) "
        "FROM metric_stats_hourly($1) GROUP BY series ORDER BY series",
        first - timedelta(hours=1),
    )
    assert [tuple(r.values()) for r in hourly] == [("svc:g", 24, 17.5), ("svc:req.rate", 23, 2.0)]
