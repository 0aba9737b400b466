"""The analyzer's storage against a real PostgreSQL: window aggregates, baselines, anomalies.

The database is shared by the whole session, so every test writes under
its own service names and reads back only those.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from typing import Any

import asyncpg
import pytest

from aiops_engine.detection import Anomaly, AnomalyType, Baseline, SeriesKey, WindowStats
from aiops_telemetry import CLIENT, COLUMNS, SpanRow, load_migrations
from analyzer.store.anomalies import recent_anomalies, save_anomalies
from analyzer.store.baselines import load_baselines, save_baselines
from analyzer.store.windows import WINDOW_STATS_SQL, window_stats
from tests.support import telemetry_rows

from .synthetic import percentile

# Telemetry goes into the past, far from the rows service tests write "now".
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(seconds=10)
MS = timedelta(milliseconds=1)


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:10]}"


# A request to /x at T0 of its own trace, unless told otherwise.
span = partial(telemetry_rows.span, at=T0)


def call(caller: str, peer: str | None, **fields: Any) -> SpanRow:
    return span(caller, kind=CLIENT, peer=peer, **fields)


async def insert(conn: asyncpg.Connection, rows: Iterable[SpanRow]) -> None:
    await conn.copy_records_to_table("telemetry", records=list(rows), columns=COLUMNS)


async def stats_of(
    conn: asyncpg.Connection,
    service: str,
    *,
    start: datetime = T0,
    end: datetime = T1,
    sample_traces: int = 3,
) -> dict[SeriesKey, WindowStats]:
    found = await window_stats(conn, start=start, end=end, sample_traces=sample_traces)
    return {s.key: s for s in found if s.key.service == service}


# --- window_stats -------------------------------------------------------------------------


async def test_window_includes_its_start_and_excludes_its_end(conn: asyncpg.Connection) -> None:
    """A span exactly at `start` counts, one exactly at `end` belongs to the next window."""
    svc = unique("bounds")
    tick = timedelta(microseconds=1)
    await insert(conn, [span(svc, at=t) for t in (T0 - tick, T0, T1 - tick, T1)])

    stats = await stats_of(conn, svc)

    window = stats[SeriesKey.endpoint(svc, "/x")]
    assert window.count == 2
    assert (window.start, window.end) == (T0, T1)


async def test_window_without_spans_has_no_keys(conn: asyncpg.Connection) -> None:
    """Keys are found in the window's spans only: an empty window yields an empty list."""
    start = datetime(1990, 1, 1, tzinfo=UTC)
    assert await window_stats(conn, start=start, end=start + timedelta(seconds=10)) == []


async def test_server_spans_make_endpoint_keys_and_client_spans_make_edge_keys(
    conn: asyncpg.Connection,
) -> None:
    """Server spans group by (service, endpoint); client spans by (caller, callee), any path."""
    svc = unique("keys")
    await insert(
        conn,
        [
            span(svc, endpoint="/checkout"),
            span(svc, endpoint="/checkout"),
            span(svc, endpoint="/health"),
            call(svc, "payment", endpoint="/payment"),
            call(svc, "payment", endpoint="/refund"),
            call(svc, "postgres", endpoint="SELECT orders", method="SQL", status=None),
            call(svc, None, endpoint="/unknown"),  # no callee: names no edge
        ],
    )

    stats = await stats_of(conn, svc)

    assert {key: s.count for key, s in stats.items()} == {
        SeriesKey.endpoint(svc, "/checkout"): 2,
        SeriesKey.endpoint(svc, "/health"): 1,
        SeriesKey.edge(svc, "payment"): 2,
        SeriesKey.edge(svc, "postgres"): 1,
    }


async def test_window_stats_come_in_key_order(conn: asyncpg.Connection) -> None:
    """The list is sorted by SeriesKey, so cycles see keys in a stable order."""
    svc = unique("order")
    await insert(conn, [span(svc, endpoint="/b"), span(svc, endpoint="/a"), call(svc, "z")])

    found = [s.key for s in await window_stats(conn, start=T0, end=T1)]

    assert found == sorted(found)


async def test_endpoint_errors_are_5xx_responses_only(conn: asyncpg.Connection) -> None:
    """A server span failed on 5xx; 4xx and a cancelled request (NULL status) did not."""
    svc = unique("server-errors")
    statuses = [200, 201, 404, 499, 500, 503, None]
    await insert(conn, [span(svc, status=s) for s in statuses])

    window = (await stats_of(conn, svc))[SeriesKey.endpoint(svc, "/x")]

    assert (window.count, window.error_count, window.timeout_count) == (7, 2, 0)


async def test_a_server_span_with_a_failure_kind_fails_whatever_its_status(
    conn: asyncpg.Connection,
) -> None:
    """An OTLP span's exception or status ERROR fails it even with HTTP 200 or no status;
    a request the client left ("cancelled") is not the server's failure."""
    svc = unique("server-kinds")
    rows = [
        span(svc, status=200, error_kind="exception"),
        span(svc, status=None, error_kind="error_status"),
        span(svc, status=404, error_kind="error_status"),
        span(svc, status=None, error_kind="cancelled"),
        span(svc, status=200),
    ]
    await insert(conn, rows)

    window = (await stats_of(conn, svc))[SeriesKey.endpoint(svc, "/x")]

    assert (window.count, window.error_count) == (5, 3)


async def test_a_non_http_otlp_call_without_a_status_is_no_failure(
    conn: asyncpg.Connection,
) -> None:
    """A call with method '' (not HTTP, from OTLP) states its failures: NULL status is none."""
    svc = unique("non-http")
    rows = [
        call(svc, "queue", method="", status=None),
        call(svc, "queue", method="", status=None, error_kind="exception"),
    ]
    await insert(conn, rows)

    window = (await stats_of(conn, svc))[SeriesKey.edge(svc, "queue")]

    assert (window.count, window.error_count) == (2, 1)


async def test_edge_errors_are_5xx_and_calls_without_a_response(conn: asyncpg.Connection) -> None:
    """A call failed on 5xx or on no response (NULL status), whatever its failure kind."""
    svc = unique("client-errors")
    await insert(
        conn,
        [
            call(svc, "payment", status=200),
            call(svc, "payment", status=404),
            call(svc, "payment", status=500),
            call(svc, "payment", status=503),
            call(svc, "payment", status=None, error_kind="timeout"),
            call(svc, "payment", status=None, error_kind="connection_refused"),
            call(svc, "payment", status=None),
        ],
    )

    window = (await stats_of(conn, svc))[SeriesKey.edge(svc, "payment")]

    assert (window.count, window.error_count, window.timeout_count) == (7, 5, 1)


async def test_queries_fail_only_on_a_failure_kind(conn: asyncpg.Connection) -> None:
    """Query spans never have a status: NULL is no failure for them, a recorded kind is."""
    svc = unique("queries")
    query = {"endpoint": "SELECT stock", "method": "SQL", "status": None}
    await insert(
        conn,
        [
            *(call(svc, "postgres", **query) for _ in range(5)),
            call(svc, "postgres", **query, error_kind="db_error"),
            call(svc, "postgres", **query, error_kind="timeout"),
        ],
    )

    window = (await stats_of(conn, svc))[SeriesKey.edge(svc, "postgres")]

    assert (window.count, window.error_count, window.timeout_count) == (7, 2, 1)


async def test_timeouts_are_counted_by_failure_kind(conn: asyncpg.Connection) -> None:
    """timeout_count counts error_kind 'timeout' only; refused calls are errors, not timeouts."""
    svc = unique("timeouts")
    await insert(
        conn,
        [
            *(call(svc, "inventory", status=None, error_kind="timeout") for _ in range(3)),
            call(svc, "inventory", status=None, error_kind="connection_refused"),
            call(svc, "inventory", status=200),
            call(svc, "inventory", status=200),
        ],
    )

    window = (await stats_of(conn, svc))[SeriesKey.edge(svc, "inventory")]

    assert (window.count, window.error_count, window.timeout_count) == (6, 4, 3)
    assert window.timeout_rate == pytest.approx(0.5)


async def test_mean_and_percentiles_match_linear_interpolation(
    conn: asyncpg.Connection,
) -> None:
    """Mean, p50, p95, p99 equal Python's mean and percentile_cont's linear interpolation."""
    svc = unique("latency")
    rng = random.Random(4)
    latencies = [rng.lognormvariate(math.log(40), 0.6) for _ in range(257)]
    await insert(conn, [span(svc, latency_ms=v, at=T0 + i * MS) for i, v in enumerate(latencies)])

    window = (await stats_of(conn, svc))[SeriesKey.endpoint(svc, "/x")]

    assert window.count == len(latencies)
    assert window.mean_ms == pytest.approx(sum(latencies) / len(latencies), rel=1e-12)
    assert window.p50_ms == pytest.approx(percentile(latencies, 0.50), rel=1e-12)
    assert window.p95_ms == pytest.approx(percentile(latencies, 0.95), rel=1e-12)
    assert window.p99_ms == pytest.approx(percentile(latencies, 0.99), rel=1e-12)
    assert window.p50_ms < window.p95_ms < window.p99_ms


async def test_sample_traces_are_failures_first_then_slowest(conn: asyncpg.Connection) -> None:
    """Sample trace ids list failed requests first (slowest first among them), then the slowest."""
    svc = unique("samples")
    requests = {"ok-slow": (200, 900.0), "fail-fast": (500, 10.0), "ok-mid": (200, 500.0)}
    requests |= {"fail-mid": (503, 50.0), "ok-fast": (200, 5.0)}
    await insert(
        conn,
        [span(svc, status=s, latency_ms=v, trace_id=t) for t, (s, v) in requests.items()],
    )
    key = SeriesKey.endpoint(svc, "/x")

    top3 = (await stats_of(conn, svc))[key].sample_trace_ids
    every = (await stats_of(conn, svc, sample_traces=10))[key].sample_trace_ids
    none = (await stats_of(conn, svc, sample_traces=0))[key].sample_trace_ids

    assert top3 == ("fail-mid", "fail-fast", "ok-slow")
    assert every == ("fail-mid", "fail-fast", "ok-slow", "ok-mid", "ok-fast")
    assert none == ()


async def test_sample_traces_name_each_trace_once(conn: asyncpg.Connection) -> None:
    """A trace with several slow spans on one key is sampled once, at its worst span."""
    svc = unique("distinct")
    await insert(
        conn,
        [
            call(svc, "postgres", method="SQL", status=None, latency_ms=v, trace_id="busy")
            for v in (300.0, 200.0, 100.0)
        ]
        + [call(svc, "postgres", method="SQL", status=None, latency_ms=150.0, trace_id="calm")],
    )

    window = (await stats_of(conn, svc))[SeriesKey.edge(svc, "postgres")]

    assert window.sample_trace_ids == ("busy", "calm")


async def test_negative_sample_count_is_refused(conn: asyncpg.Connection) -> None:
    """A negative number of sample traces is a caller's mistake, not an empty list."""
    with pytest.raises(ValueError, match="sample_traces"):
        await window_stats(conn, start=T0, end=T1, sample_traces=-1)


def plan_nodes(node: dict[str, Any]) -> Iterable[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


async def test_window_query_reads_telemetry_through_a_timestamp_index(
    conn: asyncpg.Connection,
) -> None:
    """The window query's only condition on telemetry is the time range: it prunes the
    partitions, and an index serves the rest.

    Sequential scans are disabled because this table is too small for the
    planner to prefer an index; what is pinned is that an index *can* serve
    the query: telemetry is never read by a Seq Scan and the scan's index
    condition is the "timestamp" range. (At 2M rows, with seq scans allowed,
    the planner picks a bitmap scan on the BRIN index by itself.)
    """
    async with conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan_json = await conn.fetchval(
            "EXPLAIN (FORMAT JSON) " + WINDOW_STATS_SQL,
            T0,
            T1,
            3,
            ["endpoint"],
            ["payment"],
            ["/payment"],
            [100.0],
            [300.0],
        )
    nodes = list(plan_nodes(json.loads(plan_json)[0]["Plan"]))
    scans = [n for n in nodes if n.get("Relation Name", "").startswith("telemetry")]
    index_conditions = [n["Index Cond"] for n in nodes if "Index Cond" in n]

    # Pruned to the one partition that can hold the range (2024: no day's, the default).
    assert {n["Relation Name"] for n in scans} == {"telemetry_default"}
    assert all(n["Node Type"] != "Seq Scan" for n in scans)
    assert any('"timestamp" >=' in c and '"timestamp" <' in c for c in index_conditions)


# --- baselines ----------------------------------------------------------------------------


def baseline(key: SeriesKey, **fields: Any) -> Baseline:
    values: dict[str, Any] = {
        "level_ms": 0.1 + 0.2,  # not exactly representable: must survive as the same double
        "spread_ms": math.pi,
        "rate_per_s": 1e-300,
        "error_rate": 1 / 3,
        "samples": 2**40,  # past a 32-bit integer
        "windows": 12,
        "updated_at": datetime(2025, 6, 1, 8, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2))),
        "tail_ms": 0.7 + 0.1,
        "slow_rate": 1 / 7,
        "far_rate": 1 / 9,
    }
    return Baseline(key=key, **(values | fields))


async def stored_baselines(conn: asyncpg.Connection, service: str) -> dict[SeriesKey, Baseline]:
    return {k: b for k, b in (await load_baselines(conn)).items() if k.service == service}


async def test_baselines_round_trip_exactly(conn: asyncpg.Connection) -> None:
    """Saved baselines load back equal, field for field, for endpoint and edge keys alike."""
    svc = unique("baselines")
    saved = {
        key: baseline(key)
        for key in (SeriesKey.endpoint(svc, "/checkout"), SeriesKey.edge(svc, "payment"))
    }

    await save_baselines(conn, saved)

    assert await stored_baselines(conn, svc) == saved


async def test_saving_baselines_overwrites_given_keys_and_keeps_the_others(
    conn: asyncpg.Connection,
) -> None:
    """Saving is an upsert: a key saved again takes the new values; unsaved keys stay."""
    svc = unique("upsert")
    first, second = SeriesKey.endpoint(svc, "/a"), SeriesKey.endpoint(svc, "/b")
    await save_baselines(conn, {first: baseline(first), second: baseline(second)})
    newer = baseline(first, level_ms=250.5, windows=13, updated_at=T1)

    await save_baselines(conn, {first: newer})
    await save_baselines(conn, {})  # nothing to save: no error, nothing changed

    assert await stored_baselines(conn, svc) == {first: newer, second: baseline(second)}


async def test_a_baseline_filed_under_another_key_is_refused(conn: asyncpg.Connection) -> None:
    """The mapping's key and the baseline's own key must agree, or loading would differ."""
    svc = unique("misfiled")
    key = SeriesKey.endpoint(svc, "/a")

    with pytest.raises(ValueError, match="another key"):
        await save_baselines(conn, {key: baseline(SeriesKey.endpoint(svc, "/b"))})
    assert await stored_baselines(conn, svc) == {}


# --- anomalies ----------------------------------------------------------------------------


async def fresh_time(conn: asyncpg.Connection) -> datetime:
    """A detection time later than any stored, so `recent_anomalies` sees this test's rows only."""
    latest: datetime | None = await conn.fetchval("SELECT max(detected_at) FROM analyzer_anomalies")
    return max(latest or T0, datetime.now(UTC)) + timedelta(days=1)


def anomaly(key: SeriesKey, score: float, **fields: Any) -> Anomaly:
    values: dict[str, Any] = {
        "type": AnomalyType.LATENCY,
        "observed": 2003.7,
        "baseline": 0.1 + 0.2,
        "threshold": 300.0,
        "window_start": T0,
        "window_end": T1,
        "sample_count": 97,
        "score": score,
        "sample_trace_ids": ("t1", "t2", "t3"),
        "explanation": f"{key}: p50 2004 ms, 3x its baseline — «quoted» 'text'",
    }
    return Anomaly(key=key, **(values | fields))


async def test_anomalies_round_trip_exactly(conn: asyncpg.Connection) -> None:
    """Every Anomaly field survives, including a missing baseline and no sample traces."""
    svc = unique("anomalies")
    detected_at = await fresh_time(conn)
    found = [
        anomaly(SeriesKey.endpoint(svc, "/payment"), 0.9),
        anomaly(
            SeriesKey.edge(svc, "inventory"),
            0.6,
            type=AnomalyType.TIMEOUT,
            baseline=None,
            sample_trace_ids=(),
        ),
    ]

    await save_anomalies(conn, found, detected_at=detected_at)

    assert await recent_anomalies(conn, since=detected_at) == found


async def test_recent_anomalies_are_newest_first_since_the_given_time(
    conn: asyncpg.Connection,
) -> None:
    """Newest cycle first, each cycle in saved order; `since` is inclusive, `limit` caps."""
    svc = unique("recent")
    older = await fresh_time(conn)
    first, second, third = (SeriesKey.endpoint(svc, p) for p in ("/a", "/b", "/c"))
    stale = [anomaly(first, 0.99)]
    old = [anomaly(first, 0.8), anomaly(second, 0.7)]
    new = [anomaly(third, 0.9), anomaly(first, 0.6)]
    await save_anomalies(conn, stale, detected_at=older - timedelta(microseconds=1))
    await save_anomalies(conn, old, detected_at=older)
    await save_anomalies(conn, new, detected_at=older + timedelta(seconds=5))
    await save_anomalies(conn, [], detected_at=older + timedelta(seconds=10))  # no-op

    assert await recent_anomalies(conn, since=older) == new + old
    assert await recent_anomalies(conn, since=older, limit=3) == [*new, old[0]]
    assert await recent_anomalies(conn, since=older + timedelta(seconds=1)) == new


async def test_migration_can_be_rerun_by_hand(conn: asyncpg.Connection) -> None:
    """The analyzer's migration is idempotent, so `psql -f` on a live database is harmless."""
    for migration in load_migrations("analyzer"):
        await conn.execute(migration.sql)
        await conn.execute(migration.sql)
    comment = await conn.fetchval("SELECT obj_description('analyzer_anomalies'::regclass)")
    assert "anomaly" in comment
