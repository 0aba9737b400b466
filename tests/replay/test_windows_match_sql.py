"""In-memory windows equal the analyzer's SQL on the same rows: what makes replay trustworthy.

Each case writes random rows (every kind, status, failure kind, ties in
latency, spans on both sides of the window and its clock slack) into the
real PostgreSQL, in a time range of its own, and compares analyzer.store.windows' and
analyzer.store.traces' answers with aiops_engine.windows'.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiops_engine.detection import SeriesKey
from aiops_engine.rca import Span
from aiops_engine.rows import FIELDS, SpanRecord, span_failed
from aiops_engine.windows import percentile_cont, window_dependencies, window_stats
from aiops_telemetry import COLUMNS, apply_migrations
from analyzer import store

WINDOW = timedelta(seconds=5)


def random_rows(rng: random.Random, start: datetime, tag: str) -> list[SpanRecord]:
    services = [f"{name}-{tag}" for name in ("gw", "api", "db")]
    traces = [uuid.uuid4().hex for _ in range(rng.randint(1, 12))]
    rows: list[SpanRecord] = []
    client_ids: list[tuple[str, str]] = []
    for n in range(rng.randint(1, 120)):
        trace = rng.choice(traces)
        kind = rng.choice(["server", "server", "client", "client", "internal"])
        parent = None
        if kind == "server" and client_ids and rng.random() < 0.7:
            parent = rng.choice(client_ids)[1] if rng.random() < 0.5 else f"{n:016x}"
        span_id = f"{tag}{n:08x}"
        if kind == "client":
            client_ids.append((trace, span_id))
        at = start - timedelta(seconds=3) + timedelta(microseconds=rng.randint(0, 11_000_000))
        rows.append(
            (
                at,
                rng.choice(services),
                rng.choice(["/a", "/b", "SELECT t"]),
                rng.choice(["GET", "POST", "SQL", ""]),
                rng.choice([None, 200, 404, 500, 503]),
                rng.choice([1.0, 2.5, 2.5, 10.0]) if rng.random() < 0.5 else rng.uniform(0, 500),
                None,
                trace,
                span_id,
                parent,
                kind,
                rng.choice([None, *services, f"postgres-{tag}"]),
                rng.choice([None, None, "timeout", "connect_timeout", "cancelled", "refused"]),
                None,
            )
        )
    return rows


@pytest.mark.parametrize("seed", range(8))
async def test_window_stats_and_dependencies_equal_the_sql_on_the_same_rows(
    db: asyncpg.Connection, seed: int
) -> None:
    await apply_migrations(db, component="telemetry", package="aiops_telemetry")
    rng = random.Random(seed)
    # A time range no other test writes in: the database is shared by the session.
    start = datetime(2031, 1, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 10**5), seconds=seed)
    end = start + WINDOW
    rows = random_rows(rng, start, uuid.uuid4().hex[:6])
    await db.copy_records_to_table("telemetry", records=rows, columns=COLUMNS)

    # Every other key gets a slow bar among its latencies, some exactly on one (strictly
    # slower counts), and a key with no spans one too.
    keys = [w.key for w in window_stats(rows, start=start, end=end)]
    bars = {
        key: (rng.choice([2.5, rng.uniform(0.0, 50.0)]), rng.choice([10.0, rng.uniform(0, 500)]))
        for key in keys[::2]
    }
    bars[SeriesKey.endpoint("nobody", "/none")] = (1.0, 2.0)
    live = await store.windows.window_stats(db, start=start, end=end, sample_traces=5, bars=bars)
    memory = window_stats(rows, start=start, end=end, sample_traces=5, bars=bars)
    assert [w.key for w in memory] == [w.key for w in live]
    for mine, theirs in zip(memory, live, strict=True):
        counts = (
            "count",
            "error_count",
            "timeout_count",
            "slow_count",
            "far_count",
            "sample_trace_ids",
            "start",
            "end",
        )
        assert {k: getattr(mine, k) for k in counts} == {k: getattr(theirs, k) for k in counts}
        for name in ("mean_ms", "p50_ms", "p95_ms", "p99_ms"):
            assert getattr(mine, name) == pytest.approx(getattr(theirs, name), rel=1e-12)

    live_edges = await store.traces.window_dependencies(db, start=start, end=end)
    memory_edges = window_dependencies(rows, start=start, end=end)
    assert memory_edges == sorted(live_edges, key=lambda d: (d.caller, d.callee))


def test_engine_records_have_the_telemetry_tables_column_order() -> None:
    assert FIELDS == COLUMNS


statuses = st.one_of(st.none(), st.integers(100, 599))
error_kinds = st.one_of(
    st.none(), st.sampled_from(["timeout", "connect_timeout", "exception", "cancelled"])
)


@given(
    kind=st.sampled_from(["server", "client", "internal"]),
    status=statuses,
    method=st.sampled_from(["GET", "SQL", "OTHER", ""]),
    error_kind=error_kinds,
)
def test_the_windows_failure_rule_is_the_rca_spans_rule(
    kind: str, status: int | None, method: str, error_kind: str | None
) -> None:
    span = Span(
        "t", "s", None, "svc", "/x", method, kind, status, 1.0, datetime.now(UTC),
        error_kind=error_kind,
    )  # fmt: skip
    assert span_failed(kind, status, method, error_kind) == span.failed


moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
texts = st.text(max_size=8)
records = st.tuples(
    moments, texts, texts, st.sampled_from(["GET", "SQL"]), statuses,
    st.floats(allow_nan=True, allow_infinity=True), st.none(), st.sampled_from(["t1", "t2", "t3"]),
    texts, st.one_of(st.none(), texts), st.sampled_from(["server", "client", "internal", "odd"]),
    st.one_of(st.none(), texts), error_kinds, st.none(),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(records, max_size=40), start=moments, samples=st.integers(0, 6))
def test_any_rows_give_windows_and_dependencies_never_an_exception(
    rows: list[SpanRecord], start: datetime, samples: int
) -> None:
    end = start + WINDOW
    stats = window_stats(rows, start=start, end=end, sample_traces=samples)
    assert all(w.count >= 1 and len(w.sample_trace_ids) <= samples for w in stats)
    edges = window_dependencies(rows, start=start, end=end)
    assert all(e.calls >= e.errors for e in edges)


@given(st.lists(st.floats(-1e9, 1e9), min_size=1, max_size=50))
def test_percentiles_stay_between_the_smallest_and_largest_value(values: list[float]) -> None:
    ordered = sorted(values)
    for value in percentile_cont(ordered, (0.0, 0.5, 0.95, 0.99, 1.0)):
        assert ordered[0] <= value <= ordered[-1]
