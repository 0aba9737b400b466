"""The metric series' tables on real PostgreSQL: states and their hours written and read back,
judgements for charts, new normals asked for, the metric window's end, and retention."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from aiops_engine.metrics import Judgement, MetricConfig, MetricState, ValueSeason, judge
from aiops_telemetry import Database
from analyzer.store import metric_judgements, metric_states, windows
from tests.support.telemetry_rows import schema_connection

T0 = datetime(2021, 9, 1, tzinfo=UTC)
CONFIG = MetricConfig(min_points=5)


@pytest.fixture
def series() -> str:
    """A series no other test writes: its name has every character series names hold."""
    return f"svc-{uuid.uuid4().hex[:8]}:http.duration.p95{{http.route=/a/{{id}},code=2=00}}"


def learned(series: str, values: list[float], *, start: datetime = T0) -> MetricState:
    """`series`' state after `values`, a minute apart from `start`."""
    state: MetricState | None = None
    for i, value in enumerate(values):
        state, _ = judge(state, series, start + timedelta(minutes=i), value, CONFIG)
    assert state is not None
    return state


async def test_states_and_their_hours_read_back_as_they_were(
    conn: asyncpg.Connection, series: str
) -> None:
    """Three hours of points: the hour being filled and the two before it come back, so the
    restored state judges the next point exactly as the one in memory."""
    state = learned(series, [50 + i % 5 for i in range(150)])
    await metric_states.save_states(conn, {series: state}, {series: ("svc", "up")})
    await metric_states.save_hours(conn, {series: state}, {})
    restored = (await metric_states.load_states(conn, CONFIG))[series]
    assert restored == state
    assert restored.season == state.season
    assert len(state.season.hours) == 2
    assert (await metric_states.load_owners(conn))[series] == ("svc", "up")
    assert await metric_states.is_watched(conn, series)
    assert not await metric_states.is_watched(conn, series + "x")


async def test_only_the_hours_that_changed_are_written(
    conn: asyncpg.Connection, series: str
) -> None:
    """The usual cycle writes the hour being filled; past hours that moved (as a new normal
    may move them) are written too."""
    before = learned(series, [50.0 + i % 3 for i in range(150)])
    await metric_states.save_hours(conn, {series: before}, {})
    at = before.updated_at + timedelta(minutes=1)
    after, _ = judge(before, series, at, 51.0, CONFIG)
    assert after is not None
    await conn.execute("DELETE FROM analyzer_metric_hours WHERE series = $1", series)
    await metric_states.save_hours(conn, {series: after}, {series: before})
    rows = await conn.fetch("SELECT hour FROM analyzer_metric_hours WHERE series = $1", series)
    assert [row["hour"] for row in rows] == [T0 + timedelta(hours=2)]

    current = after.season.current
    assert current is not None
    hours = tuple(dataclasses.replace(h, total=h.total + 1) for h in (*after.season.hours, current))
    moved = dataclasses.replace(after, season=ValueSeason.of(hours[:-1], hours[-1]))
    await metric_states.save_hours(conn, {series: moved}, {series: after})
    rows = await conn.fetch(
        "SELECT hour, total FROM analyzer_metric_hours WHERE series = $1 ORDER BY hour", series
    )
    assert [row["total"] for row in rows] == [h.total for h in hours]


def judgement(series: str, at: datetime, value: float, **rest: object) -> Judgement:
    fields: dict[str, object] = {
        "expected": 10.0, "lower": 8.0, "upper": 12.0, "score": 0.3, "anomalous": False,
        "explanation": f"{series}: {value}", **rest,
    }  # fmt: skip
    return Judgement(series=series, at=at, value=value, **fields)  # type: ignore[arg-type]


async def test_judgements_are_read_for_a_chart_and_the_series_list(
    conn: asyncpg.Connection, series: str
) -> None:
    """Oldest first, the newest `limit` of [since, until); refused points are not kept; the
    list shows each series' last point."""
    times = [T0 + timedelta(seconds=10 * i) for i in range(6)]
    await metric_judgements.save_judgements(
        conn,
        [
            *(judgement(series, at, float(i)) for i, at in enumerate(times[:5])),
            judgement(series, times[5], 99.0, anomalous=True, score=0.9999999),
            Judgement(series, times[5] + timedelta(seconds=1), float("nan"), None, None, None,
                      0.0, False, "refused", refused="not a finite number"),
        ],
    )  # fmt: skip
    await metric_states.save_states(
        conn, {series: learned(series, [1.0])}, {series: ("svc", "both")}
    )
    found = await metric_judgements.points(conn, series, since=times[1], until=times[5], limit=3)
    assert [j.value for j in found] == [2.0, 3.0, 4.0]
    everything = await metric_judgements.points(
        conn, series, since=T0, until=T0 + timedelta(days=1), limit=100
    )
    assert len(everything) == 6
    assert everything[-1] == judgement(series, times[5], 99.0, anomalous=True, score=0.9999999)
    [mine] = [s for s in await metric_judgements.overview(conn) if s.series == series]
    assert (mine.service, mine.direction) == ("svc", "both")
    assert mine.last == everything[-1]


async def test_a_new_normal_is_asked_for_a_watched_series_only_and_cleared_once_read(
    conn: asyncpg.Connection, series: str
) -> None:
    assert not await metric_states.request_accept(conn, series, at=T0)
    await metric_states.save_states(
        conn, {series: learned(series, [1.0])}, {series: ("svc", "both")}
    )
    assert await metric_states.request_accept(conn, series, at=T0)
    read = {s: at for s, at in (await metric_states.pending_accepts(conn)).items() if s == series}
    assert read == {series: T0}
    # Asked again after the cycle read it: the newer request stays for the next cycle.
    assert await metric_states.request_accept(conn, series, at=T0 + timedelta(seconds=1))
    await metric_states.clear_accepts(conn, read)
    assert (await metric_states.pending_accepts(conn)).get(series) == T0 + timedelta(seconds=1)
    await metric_states.clear_accepts(conn, {series: T0 + timedelta(seconds=1)})
    assert series not in await metric_states.pending_accepts(conn)


async def test_the_metric_windows_end_is_kept_next_to_the_span_windows(
    conn: asyncpg.Connection,
) -> None:
    shared = conn.transaction()  # rolled back: other tests' analyzers share the row
    await shared.start()
    try:
        await windows.save_progress(conn, T0)
        await metric_states.save_cursor(conn, T0 - timedelta(seconds=12))
        assert await metric_states.load_cursor(conn) == T0 - timedelta(seconds=12)
        assert await windows.load_progress(conn) == T0
    finally:
        await shared.rollback()


@pytest.fixture
async def own_database(fresh_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A database of the test's own: retention deletes by time, whoever wrote the rows."""
    async with schema_connection(fresh_database_url, analyzer=True) as conn:
        yield conn


async def test_retention_deletes_old_judgements_hours_and_silent_series(
    own_database: asyncpg.Connection, fresh_database_url: str, series: str
) -> None:
    conn = own_database
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=20), now - timedelta(hours=1)
    await metric_judgements.save_judgements(
        conn, [judgement(series, old, 1.0), judgement(series, recent, 2.0)]
    )
    quiet, busy = f"{series}-quiet", f"{series}-busy"
    states = {
        quiet: learned(quiet, [1.0] * 40, start=old),
        busy: learned(busy, [1.0] * 40, start=recent - timedelta(minutes=40)),
    }
    await metric_states.save_states(conn, states, dict.fromkeys(states, ("svc", "both")))
    await metric_states.save_hours(conn, states, {})
    await conn.execute(
        "UPDATE analyzer_metric_states SET saved_at = $1 WHERE series = $2", old, quiet
    )
    pool = await asyncpg.create_pool(fresh_database_url, min_size=1, max_size=2)
    try:
        tasks = metric_judgements.retention_tasks(
            Database(pool, acquire_timeout=5), judgements=timedelta(days=7), season_days=15
        )
        deleted = [await task.run_once(now=now) for task in tasks]
    finally:
        await pool.close()
    assert deleted[0] == 1  # the old judgement
    hours = await conn.fetch("SELECT DISTINCT series FROM analyzer_metric_hours")
    assert [row["series"] for row in hours] == [busy]
    assert deleted[1] == len(states[quiet].season.hours) + 2  # its hours (+ current), state
    kept = await conn.fetch('SELECT value FROM analyzer_metric_judgements ORDER BY "time"')
    assert [row["value"] for row in kept] == [2.0]
    watched = await conn.fetch("SELECT series FROM analyzer_metric_states")
    assert [row["series"] for row in watched] == [busy]
    assert (
        json.loads(
            await conn.fetchval("SELECT state FROM analyzer_metric_states WHERE series = $1", busy)
        )["series"]
        == busy
    )
