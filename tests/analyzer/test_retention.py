"""Retention and rollups on a real PostgreSQL of their own: whole day partitions dropped, the
traces anomalies cited kept, each minute rolled up once and read back through the views."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial

import asyncpg
import pytest

from aiops_engine.detection import Anomaly, AnomalyType, SeriesKey
from aiops_telemetry import CLIENT, COLUMNS, SpanRow, new_span_id
from analyzer.store.anomalies import save_anomalies
from analyzer.store.retention import RetentionPolicy, maintain_partitions
from analyzer.store.rollups import floor_minute, roll_up
from analyzer.store.traces import trace_spans
from tests.support.telemetry_rows import schema_connection, span

DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)


@pytest.fixture
async def conn(fresh_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """An empty database of its own, with the telemetry and analyzer schemas."""
    async with schema_connection(fresh_database_url, analyzer=True) as conn:
        yield conn


def trace(at: datetime, *, status: int = 200, latency_ms: float = 10.0) -> list[SpanRow]:
    """A checkout: its server span, a client call to payment, and payment's server span."""
    root, call = new_span_id(), new_span_id()
    hop = partial(span, at=at, trace_id=uuid.uuid4().hex, status=status)
    return [
        hop("checkout", endpoint="/checkout", span_id=root, latency_ms=latency_ms),
        hop("checkout", endpoint="/payment", kind=CLIENT, peer="payment", span_id=call,
            parent=root, latency_ms=latency_ms - 1),
        hop("payment", endpoint="/payment", parent=call, latency_ms=latency_ms - 1),
    ]  # fmt: skip


def trace_id_of(rows: list[SpanRow]) -> str:
    return str(rows[0][COLUMNS.index("trace_id")])


def cite(trace_id: str, at: datetime) -> Anomaly:
    return Anomaly(
        type=AnomalyType.LATENCY,
        key=SeriesKey.endpoint("checkout", "/checkout"),
        observed=900.0,
        baseline=10.0,
        threshold=50.0,
        window_start=at,
        window_end=at + timedelta(seconds=5),
        sample_count=1,
        score=0.9,
        sample_trace_ids=(trace_id,),
        explanation="slow",
    )


async def parts(conn: asyncpg.Connection, table: str) -> list[str]:
    rows = await conn.fetch("SELECT partition::text FROM aiops_partitions($1)", table)
    return [row[0] for row in rows]


async def test_expired_days_are_dropped_whole_and_cited_traces_kept(
    conn: asyncpg.Connection,
) -> None:
    now = datetime.now(UTC)
    cited, forgotten, recent = trace(now), trace(now), trace(now + 3 * DAY)
    await conn.copy_records_to_table(
        "telemetry", records=[*cited, *forgotten, *recent], columns=COLUMNS
    )
    cited_id = trace_id_of(cited)
    await save_anomalies(conn, [cite(cited_id, now)], detected_at=now + timedelta(seconds=8))
    today = f"telemetry_p{now:%Y%m%d}"
    assert today in await parts(conn, "telemetry")

    later = now + 9 * DAY  # today and tomorrow are past the 7-day horizon then
    report = await maintain_partitions(conn, RetentionPolicy(), now=later)

    assert today in report.dropped
    assert f"telemetry_p{now + DAY:%Y%m%d}" in report.dropped
    assert today not in await parts(conn, "telemetry")
    assert f"telemetry_p{later + 2 * DAY:%Y%m%d}" in await parts(conn, "telemetry")
    assert f"telemetry_minutes_p{later + 2 * DAY:%Y%m%d}" in await parts(conn, "telemetry_minutes")
    assert report.evidence_spans == 3
    assert await conn.fetchval("SELECT count(*) FROM telemetry") == 3  # the recent trace
    kept = await trace_spans(conn, [cited_id, trace_id_of(forgotten)])
    assert list(kept) == [cited_id]
    assert len(kept[cited_id]) == 3

    again = await maintain_partitions(conn, RetentionPolicy(), now=later)
    assert (again.created, again.dropped, again.evidence_spans) == (0, [], 0)


async def test_a_converted_table_is_dropped_whole_once_its_last_day_expires(
    conn: asyncpg.Connection,
) -> None:
    """The old table attached as a partition (MINVALUE..) goes like any day, evidence kept."""
    await conn.execute(
        "CREATE TABLE telemetry_legacy (LIKE telemetry INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )
    now = datetime.now(UTC)
    old = trace(now - 30 * DAY)
    await conn.copy_records_to_table("telemetry_legacy", records=old, columns=COLUMNS)
    await conn.execute(
        "ALTER TABLE telemetry ATTACH PARTITION telemetry_legacy "
        f"FOR VALUES FROM (MINVALUE) TO ('{(now - 29 * DAY):%Y-%m-%d}')"
    )
    old_id = trace_id_of(old)
    await save_anomalies(conn, [cite(old_id, now - 30 * DAY)], detected_at=now - 30 * DAY)
    report = await maintain_partitions(conn, RetentionPolicy(), now=now)
    assert "telemetry_legacy" in report.dropped
    assert report.evidence_spans == 3
    assert len((await trace_spans(conn, [old_id]))[old_id]) == 3


async def test_each_minute_is_rolled_up_once_and_matches_the_raw_spans(
    conn: asyncpg.Connection,
) -> None:
    now = datetime.now(UTC)
    start = floor_minute(now) - 10 * MINUTE
    rows: list[SpanRow] = []
    for minute in range(5):
        for i in range(20):
            at = start + minute * MINUTE + i * timedelta(seconds=2)
            rows += trace(at, status=500 if i < minute else 200, latency_ms=10.0 + i)
    await conn.copy_records_to_table("telemetry", records=rows, columns=COLUMNS)

    rolled = await roll_up(conn, now=now, first=now - start)
    assert rolled == 8  # from `start` up to two minutes behind now
    assert await roll_up(conn, now=now, first=now - start) == 0  # up to date

    got = await conn.fetch(
        "SELECT minute, requests, errors, p50_ms, latency_max_ms FROM telemetry_minutes "
        "WHERE kind = 'endpoint' AND service = 'checkout' ORDER BY minute"
    )
    assert [(r["minute"], r["requests"], r["errors"]) for r in got] == [
        (start + m * MINUTE, 20, m) for m in range(5)
    ]
    assert all(r["p50_ms"] == 19.5 and r["latency_max_ms"] == 29.0 for r in got)
    edges = await conn.fetchval(
        "SELECT sum(requests) FROM telemetry_minutes WHERE kind = 'edge' AND target = 'payment'"
    )
    assert edges == 100

    # Rolled up again (a crash before the mark was saved): overwritten, not added to.
    await conn.execute("DELETE FROM telemetry_rollup_progress")
    assert await roll_up(conn, now=now, first=now - start) == 8
    assert await conn.fetchval("SELECT sum(requests) FROM telemetry_minutes") == 300


async def test_a_run_rolled_back_leaves_no_minute_and_no_mark(conn: asyncpg.Connection) -> None:
    now = datetime.now(UTC)
    await conn.copy_records_to_table("telemetry", records=trace(now - 5 * MINUTE), columns=COLUMNS)
    transaction = conn.transaction()
    await transaction.start()
    assert await roll_up(conn, now=now, first=10 * MINUTE) > 0
    await transaction.rollback()  # the process died before committing
    assert await conn.fetchval("SELECT count(*) FROM telemetry_minutes") == 0
    assert await conn.fetchval("SELECT count(*) FROM telemetry_rollup_progress") == 0


async def test_the_minute_view_joins_rollups_and_the_minutes_not_rolled_up_yet(
    conn: asyncpg.Connection,
) -> None:
    now = datetime.now(UTC)
    start = floor_minute(now) - 6 * MINUTE
    rows = [span for m in range(6) for span in trace(start + m * MINUTE, latency_ms=30.0)]
    await conn.copy_records_to_table("telemetry", records=rows, columns=COLUMNS)
    await roll_up(conn, now=now, first=now - start)  # minutes 0-3; 4 and 5 are read raw
    view = await conn.fetch(
        "SELECT minute, service, requests, p50_ms FROM endpoint_stats_minute "
        "WHERE minute >= $1 AND service = 'checkout' ORDER BY minute",
        start,
    )
    assert [(r["minute"], r["requests"], float(r["p50_ms"])) for r in view] == [
        (start + m * MINUTE, 1, 30.0) for m in range(6)
    ]
    hours = await conn.fetchval(
        "SELECT sum(requests) FROM endpoint_stats_hourly($1) WHERE service = 'payment'",
        start - timedelta(hours=1),
    )
    assert hours == 4  # rolled-up minutes only: the hours are complete up to the mark


async def test_spans_landing_late_still_count_in_their_minute(conn: asyncpg.Connection) -> None:
    """A sink's buffer flushing after an outage: rows for minutes already rolled up are
    counted when the next minutes are."""
    now = datetime.now(UTC)
    late_minute = floor_minute(now) - 4 * MINUTE
    await conn.copy_records_to_table("telemetry", records=trace(late_minute), columns=COLUMNS)
    await roll_up(conn, now=now, first=10 * MINUTE)
    await conn.copy_records_to_table("telemetry", records=trace(late_minute), columns=COLUMNS)
    await roll_up(conn, now=now + MINUTE, first=10 * MINUTE)
    requests = await conn.fetchval(
        "SELECT requests FROM telemetry_minutes WHERE minute = $1 AND kind = 'endpoint' "
        "AND service = 'checkout'",
        late_minute,
    )
    assert requests == 2


async def test_no_raw_day_is_dropped_before_it_is_rolled_up(conn: asyncpg.Connection) -> None:
    """After days of downtime, retention waits for the rollups to pass a day."""
    now = datetime.now(UTC)
    await conn.copy_records_to_table("telemetry", records=trace(now), columns=COLUMNS)
    await roll_up(conn, now=now - timedelta(hours=1), first=timedelta(hours=1))
    later = now + 9 * DAY
    report = await maintain_partitions(conn, RetentionPolicy(), now=later)
    assert report.dropped == []  # the rollups stopped an hour ago, before today's rows
    assert await conn.fetchval("SELECT count(*) FROM telemetry") == 3
