"""Checkout's business metrics per analysis window, from real telemetry rows in PostgreSQL:
successful checkouts, conversion and revenue as rates per minute, and no point at all for a
window with too few attempts to say anything."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial

import asyncpg
import pytest

from aiops_engine.detection import AnomalyType, DetectionConfig, KeyKind, SeriesKey
from aiops_engine.metrics import MetricConfig, MetricPoint
from aiops_telemetry import CLIENT, COLUMNS, SERVER, SpanRow, new_span_id, span_row
from analyzer.cycle import AnalysisState, Timing, run_cycle
from analyzer.metric_cycle import MetricMemory
from analyzer.store.business import CHECKOUTS, CONVERSION, REVENUE, business_points
from tests.support.telemetry_rows import span

T0 = datetime(2021, 3, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)
WINDOW = 5 * SECOND  # Timing.window_s's default
MIN_ATTEMPTS = DetectionConfig().min_samples  # what the cycle passes


@pytest.fixture
def origin() -> datetime:
    """A minute of past time no other test writes checkout spans in."""
    return T0 + timedelta(minutes=uuid.uuid4().int % 10_000_000)


def checkout(
    at: datetime,
    status: int | None,
    *,
    amount: object = None,
    endpoint: str = "/checkout",
    method: str = "POST",
    service: str = "checkout",
    error_kind: str | None = None,
) -> SpanRow:
    """A server span of checkout's, with `order.amount` on it when given (as `annotate`
    puts it on a confirmed order's)."""
    return span_row(
        timestamp=at,
        service_name=service,
        endpoint=endpoint,
        method=method,
        status_code=status,
        latency_ms=30.0,
        error_message=None,
        trace_id=uuid.uuid4().hex,
        span_id=new_span_id(),
        parent_span_id=None,
        kind=SERVER,
        peer_service=None,
        error_kind=error_kind,
        attributes=None if amount is None else json.dumps({"order.amount": amount}),
    )


async def write(conn: asyncpg.Connection, rows: list[SpanRow]) -> None:
    await conn.copy_records_to_table("telemetry", records=rows, columns=COLUMNS)


def values(points: list[MetricPoint]) -> dict[tuple[str, datetime], float]:
    assert all(p.service == "checkout" for p in points)
    return {(p.series, p.at): p.value for p in points}


async def test_a_window_gives_checkouts_conversion_and_revenue_per_minute_at_its_end(
    conn: asyncpg.Connection, origin: datetime
) -> None:
    """Five attempts in a 5 s window, three confirmed (10 + 20 + 30.5), one declined, one a
    200 whose span recorded an exception; a span of another route, method or service is no
    attempt. Rates are per minute: three orders in 5 s are 36 a minute."""
    await write(
        conn,
        [
            checkout(origin + 0 * SECOND, 200, amount=10),
            checkout(origin + 1 * SECOND, 200, amount=20),
            checkout(origin + 2 * SECOND, 200, amount=30.5),
            checkout(origin + 3 * SECOND, 402),
            checkout(origin + 4 * SECOND, 200, amount=5, error_kind="exception"),
            checkout(origin + 1 * SECOND, 200, amount=99, endpoint="/payment-voids"),
            checkout(origin + 2 * SECOND, 200, amount=99, method="GET"),
            checkout(origin + 3 * SECOND, 200, amount=99, service="payment"),
        ],
    )
    end = origin + 5 * SECOND
    points = await business_points(conn, origin, end, min_attempts=MIN_ATTEMPTS)
    assert values(points) == {
        (CHECKOUTS, end): 36.0,
        (CONVERSION, end): 0.6,
        (REVENUE, end): pytest.approx(60.5 * 12),
    }
    # A longer window (a late cycle catching up) reads on the same per-minute scale.
    longer = await business_points(conn, origin, origin + 10 * SECOND, min_attempts=MIN_ATTEMPTS)
    assert values(longer)[(CHECKOUTS, origin + 10 * SECOND)] == 18.0


async def test_a_window_of_a_handful_of_attempts_or_none_gives_no_point_at_all(
    conn: asyncpg.Connection, origin: datetime
) -> None:
    """Four failed attempts say nothing about a share, and a quiet window is the silence
    detector's to judge: neither gives a point, not even a 0, for any of the three series."""
    await write(conn, [checkout(origin + n * SECOND, 500) for n in range(4)])
    few = await business_points(conn, origin, origin + 5 * SECOND, min_attempts=MIN_ATTEMPTS)
    quiet = await business_points(
        conn, origin + 5 * SECOND, origin + 10 * SECOND, min_attempts=MIN_ATTEMPTS
    )
    assert (few, quiet) == ([], [])
    await write(conn, [checkout(origin + 4 * SECOND, 500)])  # the fifth: now it is a share
    five = await business_points(conn, origin, origin + 5 * SECOND, min_attempts=MIN_ATTEMPTS)
    assert values(five) == {
        (CHECKOUTS, origin + 5 * SECOND): 0.0,
        (CONVERSION, origin + 5 * SECOND): 0.0,
        (REVENUE, origin + 5 * SECOND): 0.0,
    }


async def test_windows_are_start_inclusive_end_exclusive(
    conn: asyncpg.Connection, origin: datetime
) -> None:
    """A span at a window's end belongs to the next window, so consecutive windows count each
    attempt once."""
    await write(conn, [checkout(origin + n * SECOND, 200, amount=1) for n in range(5, 10)])
    before = await business_points(conn, origin, origin + 5 * SECOND, min_attempts=MIN_ATTEMPTS)
    at = await business_points(
        conn, origin + 5 * SECOND, origin + 10 * SECOND, min_attempts=MIN_ATTEMPTS
    )
    assert before == []
    assert values(at)[(CHECKOUTS, origin + 10 * SECOND)] == 60.0


async def test_an_amount_that_is_not_a_number_adds_nothing_and_breaks_nothing(
    conn: asyncpg.Connection, origin: datetime
) -> None:
    await write(
        conn,
        [
            checkout(origin + 1 * SECOND, 200, amount="12.50"),
            checkout(origin + 2 * SECOND, 200),
            checkout(origin + 3 * SECOND, 200, amount=2.5),
            checkout(origin + 4 * SECOND, 200, amount=[1]),
            checkout(origin + 5 * SECOND, 200, amount={"value": 3}),
        ],
    )
    end = origin + MINUTE
    found = values(await business_points(conn, origin, end, min_attempts=MIN_ATTEMPTS))
    assert found[(CHECKOUTS, end)] == 5.0
    assert found[(REVENUE, end)] == 2.5


def orders(start: datetime, count: int, *, failing: bool = False) -> list[SpanRow]:
    """`count` checkouts in the 5 s from `start`, each reserving stock at inventory: checkout's
    server span, its client call to inventory and inventory's server span. Failing, inventory
    answers 500 and checkout 502 behind it."""
    rows = []
    for n in range(count):
        root, call, trace_id = new_span_id(), new_span_id(), uuid.uuid4().hex
        hop = partial(span, at=start + n * (5 * SECOND / count), trace_id=trace_id)
        reserve = partial(hop, endpoint="/inventory/reserve", status=500 if failing else 200)
        rows += [
            hop("checkout", endpoint="/checkout", span_id=root, status=502 if failing else 200,
                latency_ms=30.0),
            reserve("checkout", kind=CLIENT, peer="inventory", span_id=call, parent=root),
            reserve("inventory", parent=call, latency_ms=5.0),
        ]  # fmt: skip
    return rows


async def test_a_conversion_drop_joins_the_inventory_failure_behind_it_in_one_finding(
    conn: asyncpg.Connection, origin: datetime
) -> None:
    """Thirty healthy 5 s windows (the points conversion learns before it is judged), then one
    where every reservation fails at inventory and every checkout with it: that cycle's
    conversion drop is a metric anomaly in the very finding of the span anomalies, blamed on
    inventory, not on checkout, where the drop shows."""
    healthy = 30
    assert MetricConfig().min_points <= healthy
    await write(conn, [row for w in range(healthy) for row in orders(origin + w * WINDOW, 8)])
    await write(conn, orders(origin + healthy * WINDOW, 8, failing=True))
    timing = Timing(window_s=5.0, ingest_lag_s=3.0)
    state = AnalysisState(last_end=origin, metrics=MetricMemory(end=origin))
    reports = []
    for w in range(healthy + 1):
        now = origin + (w + 1) * WINDOW + 3 * SECOND
        report = await run_cycle(conn, state, DetectionConfig(), timing, now=now)
        assert report is not None
        assert report.end == origin + (w + 1) * WINDOW
        reports.append(report)
    *calm, report = reports
    assert not [a for r in calm for a in r.anomalies]

    [drop] = [a for a in report.anomalies if a.key.target == CONVERSION]
    assert drop.type is AnomalyType.METRIC
    assert drop.key == SeriesKey(KeyKind.METRIC, "checkout", CONVERSION)
    assert (drop.observed, drop.window_end) == (0.0, report.end)
    [finding] = [f for f in report.findings if drop in f.anomalies]
    assert finding.root_cause.service == "inventory"
    assert finding.root_cause.endpoint == "/inventory/reserve"
    inventory = SeriesKey.endpoint("inventory", "/inventory/reserve")
    assert any(a.key == inventory and a.type is AnomalyType.ERROR_SPIKE for a in finding.anomalies)
