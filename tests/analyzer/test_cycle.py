"""Real analysis cycles over real telemetry rows in PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from aiops_engine.detection import AnomalyType, DetectionConfig, SeriesKey
from aiops_telemetry import COLUMNS
from analyzer.cycle import AnalysisState, Timing, next_window, restore_state, run_cycle
from tests.support.telemetry_rows import span

TIMING = Timing(window_s=5.0, ingest_lag_s=3.0, max_catch_up_s=60.0)
CONFIG = DetectionConfig(window_seconds=TIMING.window_s)
T0 = datetime(2021, 6, 1, tzinfo=UTC)


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


@pytest.fixture
def origin() -> datetime:
    """A stretch of past time no other test writes to: windows see only this test's rows."""
    return T0 + timedelta(days=uuid.uuid4().int % 100_000)


async def write_window(
    conn: asyncpg.Connection,
    service: str,
    start: datetime,
    *,
    latency_ms: float,
    status: int = 200,
    count: int = 50,
) -> list[str]:
    """`count` payment requests spread over the 5 s from `start`; returns their trace ids."""
    rows = [
        span(
            service,
            at=start + seconds(i * TIMING.window_s / count),
            endpoint="/payment",
            status=status,
            latency_ms=latency_ms * (0.9 + 0.2 * (i % 5) / 4),  # some natural jitter
        )
        for i in range(count)
    ]
    await conn.copy_records_to_table("telemetry", records=rows, columns=COLUMNS)
    return [row[7] for row in rows]


def cycle_time(origin: datetime, index: int) -> datetime:
    """When the cycle that reads window `index` runs: its end, plus the ingest lag."""
    return origin + seconds((index + 1) * TIMING.window_s + TIMING.ingest_lag_s)


def test_first_window_ends_ingest_lag_behind_now() -> None:
    now = T0 + seconds(100)
    assert next_window(None, now, TIMING) == (T0 + seconds(92), T0 + seconds(97))


def test_windows_follow_on_without_overlap_or_gap() -> None:
    """A late cycle reads a longer window rather than skipping telemetry."""
    last_end = T0 + seconds(97)
    assert next_window(last_end, T0 + seconds(109), TIMING) == (last_end, T0 + seconds(106))


def test_a_cycle_too_soon_after_the_last_reads_nothing() -> None:
    assert next_window(T0 + seconds(97), T0 + seconds(101), TIMING) is None


def test_after_long_downtime_analysis_resumes_from_recent_telemetry() -> None:
    now = T0 + seconds(1000)
    assert next_window(T0, now, TIMING) == (T0 + seconds(992), T0 + seconds(997))


async def run_windows(
    conn: asyncpg.Connection, state: AnalysisState, origin: datetime, indexes: range
) -> list[AnomalyType]:
    found = []
    for index in indexes:
        report = await run_cycle(conn, state, CONFIG, TIMING, now=cycle_time(origin, index))
        assert report is not None
        assert report.start == origin + seconds(index * TIMING.window_s)
        found += [anomaly.type for anomaly in report.anomalies]
    return found


async def test_a_slow_window_after_normal_traffic_is_reported_and_stored(
    conn: asyncpg.Connection, origin: datetime
) -> None:
    """15 windows at ~10 ms teach the baseline; a window at ~2 s is a latency anomaly."""
    service = f"pay-{uuid.uuid4().hex[:8]}"
    for index in range(15):
        await write_window(conn, service, origin + seconds(index * 5), latency_ms=10)
    slow_traces = await write_window(conn, service, origin + seconds(15 * 5), latency_ms=2000)
    state = AnalysisState(last_end=origin)

    assert await run_windows(conn, state, origin, range(15)) == []
    report = await run_cycle(conn, state, CONFIG, TIMING, now=cycle_time(origin, 15))

    assert report is not None
    [anomaly] = report.anomalies
    assert anomaly.type is AnomalyType.LATENCY
    assert anomaly.key == SeriesKey.endpoint(service, "/payment")
    assert anomaly.sample_count == 50
    assert set(anomaly.sample_trace_ids) <= set(slow_traces)
    assert anomaly.sample_trace_ids
    stored = await conn.fetch(
        "SELECT type, explanation FROM analyzer_anomalies WHERE service = $1", service
    )
    assert [row["type"] for row in stored] == ["latency"]
    # the slow window was not learned: the baseline still says ~10 ms
    assert state.baselines[anomaly.key].level_ms == pytest.approx(10, rel=0.2)


async def test_a_restarted_analyzer_judges_at_once_with_persisted_baselines(
    conn: asyncpg.Connection, origin: datetime
) -> None:
    """No relearning after a restart: the first cycle of a fresh state already fires; the
    hour each key is filling (seasonality) is restored too."""
    service = f"pay-{uuid.uuid4().hex[:8]}"
    for index in range(12):
        await write_window(conn, service, origin + seconds(index * 5), latency_ms=10)
    await write_window(conn, service, origin + seconds(12 * 5), latency_ms=2000)
    before = AnalysisState(last_end=origin)
    await run_windows(conn, before, origin, range(12))

    restarted = await restore_state(conn, CONFIG)
    # The shared test database holds other tests' baselines, from other stretches of time.
    restarted.baselines = {k: b for k, b in restarted.baselines.items() if k.service == service}
    key = SeriesKey.endpoint(service, "/payment")
    assert restarted.baselines[key].windows == 12
    assert restarted.baselines[key].traffic_windows == 12
    assert restarted.baselines[key].season.current is not None
    assert restarted.baselines[key].season == before.baselines[key].season
    report = await run_cycle(conn, restarted, CONFIG, TIMING, now=cycle_time(origin, 12))
    assert report is not None
    assert [(a.type, a.key) for a in report.anomalies] == [(AnomalyType.LATENCY, key)]


async def test_a_window_of_failures_is_an_error_spike_even_without_a_baseline(
    conn: asyncpg.Connection, origin: datetime
) -> None:
    service = f"pay-{uuid.uuid4().hex[:8]}"
    await write_window(conn, service, origin, latency_ms=10, status=500)
    report = await run_cycle(
        conn, AnalysisState(last_end=origin), CONFIG, TIMING, now=cycle_time(origin, 0)
    )
    assert report is not None
    assert report.rows == 50
    [anomaly] = report.anomalies
    assert (anomaly.type, anomaly.observed) == (AnomalyType.ERROR_SPIKE, 1.0)
