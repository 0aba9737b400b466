"""Metric series in real analysis cycles: OTLP points and checkout's business metrics from
PostgreSQL judged, persisted and restored; a series that cannot be judged skipped alone; a
level shift that holds becomes the new normal and resolves its incident."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from redis.asyncio import Redis

from aiops_engine.detection import AnomalyType, DetectionConfig, KeyKind, SeriesKey
from aiops_engine.incidents import EventKind, Incident, IncidentEvent, IncidentPolicy, Status
from aiops_engine.metrics import Direction, MetricConfig, judge
from aiops_telemetry import COLUMNS
from aiops_telemetry.metric_rows import METRIC_COLUMNS, metric_row
from analyzer.cycle import AnalysisState, CycleReport, Timing, restore_state, run_cycle
from analyzer.incidents import IncidentDesk, IncidentStore, Notifier
from analyzer.loop_stats import LoopStats
from analyzer.metric_cycle import MetricMemory, MetricWatch, direction
from analyzer.store import metric_states
from analyzer.store.business import CHECKOUTS, CONVERSION, REVENUE
from tests.support.telemetry_rows import span

TIMING = Timing(window_s=5.0, ingest_lag_s=3.0, max_catch_up_s=60.0)
CONFIG = DetectionConfig(window_seconds=TIMING.window_s)
METRICS = MetricConfig(min_points=10, new_normal_after=timedelta(minutes=10))
WATCH = MetricWatch(config=METRICS, lateness_s=15.0, max_catch_up_s=3600.0)
STEP = timedelta(seconds=30)
T0 = datetime(2021, 6, 1, tzinfo=UTC)


@pytest.fixture
def origin() -> datetime:
    """A minute of past time no other test writes to (past: the business series are every
    test's, and a state dated ahead of now would refuse the live analyzers' points)."""
    return T0 + timedelta(minutes=uuid.uuid4().int % 1_000_000)


@pytest.fixture
def service() -> str:
    return f"svc-{uuid.uuid4().hex[:8]}"


async def write_points(
    conn: asyncpg.Connection, series: str, service: str, start: datetime, values: list[float]
) -> None:
    """Gauge points of `series`, STEP apart from `start`, as ingest stores them."""
    rows = [
        metric_row(time=start + i * STEP, series=series, service=service,
                   name=series.split(":", 1)[1], kind="gauge", value=value)
        for i, value in enumerate(values)
    ]  # fmt: skip
    await conn.copy_records_to_table("metric_points", records=rows, columns=METRIC_COLUMNS)


def fresh(origin: datetime) -> AnalysisState:
    """A first start at `origin`: nothing learned, both windows starting there."""
    return AnalysisState(last_end=origin, metrics=MetricMemory(end=origin))


async def cycle(conn: asyncpg.Connection, state: AnalysisState, now: datetime) -> CycleReport:
    report = await run_cycle(conn, state, CONFIG, TIMING, now=now, metric_watch=WATCH)
    assert report is not None
    return report


async def test_metric_points_are_judged_persisted_and_restored_after_a_restart(
    conn: asyncpg.Connection, origin: datetime, service: str
) -> None:
    latency = f"{service}:http.server.duration{{http.route=/a/{{id}}}}"
    orders = f"{service}:orders"
    await write_points(conn, latency, service, origin, [100.0 + i % 4 for i in range(40)])
    await write_points(conn, orders, service, origin, [7.0 + i % 3 for i in range(40)])
    state = fresh(origin)

    now = origin + 40 * STEP + timedelta(seconds=16)
    report = await cycle(conn, state, now)

    assert report.metrics is not None
    assert (report.metrics.start, report.metrics.end) == (origin, now - timedelta(seconds=15))
    assert len(report.metrics.watched.judgements) == 80
    assert set(state.metrics.states) >= {latency, orders}
    assert state.metrics.end == report.metrics.end
    rows = await conn.fetch(
        "SELECT series, service, direction FROM analyzer_metric_states WHERE service = $1", service
    )
    assert {(r["series"], r["direction"]) for r in rows} == {(latency, "up"), (orders, "both")}
    judged = await conn.fetchval(
        "SELECT count(*) FROM analyzer_metric_judgements WHERE series = $1", latency
    )
    assert judged == 40
    assert await metric_states.load_cursor(conn) == report.metrics.end

    restarted = await restore_state(conn, CONFIG, METRICS)
    for series in (latency, orders):
        assert restarted.metrics.states[series] == state.metrics.states[series]
        assert restarted.metrics.states[series].season == state.metrics.states[series].season
        assert restarted.metrics.owners[series][0] == service
    assert restarted.metrics.end == report.metrics.end

    # The next window judges only what is new, against the restored state, as memory would.
    await write_points(conn, latency, service, origin + 41 * STEP, [180.0])
    expected = judge(
        state.metrics.states[latency], latency, origin + 41 * STEP, 180.0, METRICS,
        direction(latency),
    )[1]  # fmt: skip
    restarted.last_end = state.last_end
    later = await cycle(conn, restarted, now + STEP)
    assert later.metrics is not None
    assert later.metrics.watched.judgements == [expected]


async def test_a_series_that_cannot_be_judged_is_skipped_and_counted_the_others_judged(
    conn: asyncpg.Connection,
    origin: datetime,
    service: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A state that makes judging raise (a naive time, from a bug) skips its series, named
    like a skipped key; a point older than its series' last refused and counted by reason."""
    good, bad, ahead = (f"{service}:{name}" for name in ("good", "bad", "ahead"))
    for series in (good, bad, ahead):
        await write_points(conn, series, service, origin, [5.0, 6.0, 5.0])
    state = fresh(origin)
    learned, _ = judge(None, bad, origin - STEP, 5.0, METRICS)
    assert learned is not None
    state.metrics.states[bad] = dataclasses.replace(learned, updated_at=origin.replace(tzinfo=None))
    state.metrics.states[ahead] = dataclasses.replace(
        learned, series=ahead, updated_at=origin + STEP
    )
    state.metrics.owners[bad] = (service, "both")

    report = await cycle(conn, state, origin + 3 * STEP + timedelta(seconds=16))
    stats = LoopStats()
    with caplog.at_level(logging.ERROR, logger="analyzer.loop"):
        stats.record(report)

    key = SeriesKey(KeyKind.METRIC, service, bad)
    assert list(report.skipped) == [key]
    assert report.skipped[key].startswith("TypeError")
    assert stats.keys_skipped == 1
    assert f"{key} not judged this cycle" in caplog.text
    assert report.metrics is not None
    judged = [j for j in report.metrics.watched.judgements if j.refused is None]
    assert sorted({j.series for j in judged}) == [ahead, good]
    assert stats.metric_points_refused == {"not newer than the last point judged": 2}
    assert stats.metric_points_judged == 4  # good's three, ahead's last
    stored = await conn.fetch(
        "SELECT series FROM analyzer_metric_states WHERE series = ANY($1::text[])", [good, bad]
    )
    assert [row["series"] for row in stored] == [good]  # the skipped state is not written


@pytest.fixture
async def desk(redis: Redis, pool: asyncpg.Pool) -> AsyncIterator[IncidentDesk]:
    policy = IncidentPolicy(correlation_window_s=300, resolve_after_s=120)
    async with Notifier([]) as notifier:
        yield IncidentDesk(IncidentStore(redis, ttl_s=3600), pool, notifier, policy)


async def test_a_level_shift_that_holds_becomes_the_new_normal_and_resolves_its_incident(
    conn: asyncpg.Connection, desk: IncidentDesk, origin: datetime, service: str
) -> None:
    """Latency five times higher for longer than the new-normal period: an incident opens on
    the first anomalous point, stays open while the shift lasts, and resolves, saying since
    when the new normal holds, at the point the level is adopted."""
    series = f"{service}:http.server.duration"
    values = [100.0 + i % 5 for i in range(40)] + [500.0 + i % 5 for i in range(30)]
    await write_points(conn, series, service, origin, values)
    state = fresh(origin)
    opened: list[Incident] = []
    resolved: list[IncidentEvent] = []
    for index in range(len(values)):
        now = origin + index * STEP + timedelta(seconds=16)
        report = await cycle(conn, state, now)
        events = await desk.process(
            report.findings, now=now, graph=state.graph, new_normals=report.new_normals
        )
        opened += [e.incident for e in events if e.kind is EventKind.OPENED]
        resolved += [e for e in events if e.kind is EventKind.RESOLVED]
        if index == 40:
            [anomaly] = report.anomalies
            assert anomaly.type is AnomalyType.METRIC
            assert anomaly.key == SeriesKey(KeyKind.METRIC, service, series)

    [incident] = opened
    assert incident.root_cause.service == service
    [event] = resolved
    assert event.incident.id == incident.id
    assert event.incident.status is Status.RESOLVED
    assert event.incident.resolved_by == "new_normal"
    since = (origin + 40 * STEP).strftime("%Y-%m-%d %H:%M")
    assert event.incident.resolution == f"{series}: new normal since {since} UTC"
    assert event.at - (origin + 40 * STEP) >= METRICS.new_normal_after
    row = await conn.fetchrow(
        "SELECT status, detail FROM analyzer_incident_history "
        "WHERE incident_id = $1 AND event = 'resolved'",
        incident.id,
    )
    assert row is not None
    assert row["status"] == "resolved"
    assert f"new normal since {since} UTC" in row["detail"]
    stored = await conn.fetchval(
        "SELECT count(*) FROM analyzer_metric_judgements "
        "WHERE series = $1 AND new_normal_since IS NOT NULL",
        series,
    )
    assert stored == 1


async def test_business_metrics_of_the_span_window_are_judged_in_its_cycle(
    conn: asyncpg.Connection, origin: datetime
) -> None:
    """Five checkouts in the cycle's span window, three confirmed: that very cycle judges
    conversion (alerting when lower), checkouts and revenue per minute, dated at the window's
    end, though the OTLP window, 15 s behind, has not begun yet. The next window, with no
    checkout, gives none."""
    rows = [
        span("checkout", at=origin + timedelta(seconds=n), endpoint="/checkout", status=status)
        for n, status in ((0, 200), (1, 200), (2, 503), (3, 200), (4, 402))
    ]
    await conn.copy_records_to_table("telemetry", records=rows, columns=COLUMNS)
    state = fresh(origin)
    report = await cycle(conn, state, origin + timedelta(seconds=8))
    assert (report.start, report.end) == (origin, origin + timedelta(seconds=5))
    assert report.metrics is not None
    judged = {j.series: j for j in report.metrics.watched.judgements}
    assert judged[CONVERSION].value == pytest.approx(3 / 5)
    assert judged[CONVERSION].at == report.end
    assert judged[CHECKOUTS].value == 36.0  # three in 5 s
    assert judged[REVENUE].value == 0.0  # no amount on these spans
    assert direction(CONVERSION) is Direction.DOWN
    assert report.metrics.owners[CONVERSION] == ("checkout", "down")
    assert state.metrics.end == origin  # no OTLP window was read: its cursor stays

    quiet = await cycle(conn, state, origin + timedelta(seconds=13))
    assert quiet.metrics is None  # no checkout, and no OTLP window yet: nothing to judge
