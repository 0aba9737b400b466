"""The psql views and trace_tree() (migration 0003) over real rows in PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from aiops_engine.detection import Baseline, DetectionConfig, SeriesKey, latency_threshold
from aiops_engine.incidents import Incident, IncidentEvent, IncidentPolicy
from aiops_engine.incidents.lifecycle import acknowledge, changes, open_incident, resolve
from aiops_telemetry import CLIENT, COLUMNS, SpanRow, load_migrations
from analyzer.store import incident_history
from analyzer.store.baselines import save_baselines
from tests.support import telemetry_rows

from .incidents.findings import later, payment_errors


def span(
    trace_id: str, span_id: str, parent: str | None, service: str, at: datetime, **fields: Any
) -> SpanRow:
    """A span of trace `trace_id` under `parent`, on /checkout unless told otherwise."""
    fields = {"endpoint": "/checkout", **fields}
    return telemetry_rows.span(
        service, at=at, trace_id=trace_id, span_id=span_id, parent=parent, **fields
    )


async def write(conn: asyncpg.Connection, rows: list[SpanRow]) -> None:
    await conn.copy_records_to_table("telemetry", records=rows, columns=COLUMNS)


async def test_endpoint_stats_count_server_spans_per_minute_with_errors_and_percentiles(
    conn: asyncpg.Connection,
) -> None:
    """Client spans are left out; 5xx are the errors. The minutes are ahead of any rollup an
    analyzer of the session wrote, so the view reads them raw (test_retention: rolled up)."""
    service = f"svc-{uuid.uuid4().hex[:8]}"
    minute = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=1)
    earlier = minute - timedelta(minutes=1)
    rows = [
        span("t", f"a{i}", None, service, minute + timedelta(seconds=i), latency_ms=ms, status=st)
        for i, (ms, st) in enumerate([(10, 200), (20, 200), (30, 500), (40, 200)])
    ]
    rows += [
        span("t", "b1", None, service, earlier, status=503),
        span("t", "b2", None, service, earlier + timedelta(seconds=30), status=404),
        span("t", "c1", "a0", service, minute, kind=CLIENT, status=None, peer="payment"),
    ]
    await write(conn, rows)

    stats = await conn.fetch(
        "SELECT * FROM endpoint_stats_minute WHERE service = $1 ORDER BY minute", service
    )

    assert [(r["minute"], r["endpoint"], r["requests"], r["errors"]) for r in stats] == [
        (earlier, "/checkout", 2, 1),
        (minute, "/checkout", 4, 1),
    ]
    assert [r["error_rate"] for r in stats] == [Decimal("0.5"), Decimal("0.25")]
    # percentile_cont interpolates: 10, 20, 30, 40 ms give 25, 38.5 and 39.7.
    latest = stats[1]
    assert (latest["p50_ms"], latest["p95_ms"], latest["p99_ms"]) == (
        Decimal("25.0"),
        Decimal("38.5"),
        Decimal("39.7"),
    )


async def test_trace_tree_walks_depth_first_by_start_time_and_indents_by_depth(
    conn: asyncpg.Connection,
) -> None:
    """Payment's clock runs late, yet its span stays under its caller: parent ids, not time."""
    trace = uuid.uuid4().hex
    t0 = datetime(2022, 3, 1, tzinfo=UTC) + timedelta(days=uuid.uuid4().int % 10_000)

    def ms(n: float) -> datetime:
        return t0 + timedelta(milliseconds=n)

    rows = [
        span(trace, "inv-s", "c-inv", "inventory", ms(5), endpoint="/inventory/reserve"),
        span(trace, "root", None, "checkout", ms(0), latency_ms=80),
        span(
            trace,
            "c-inv",
            "root",
            "checkout",
            ms(3),
            kind=CLIENT,
            peer="inventory",
            endpoint="/inventory/reserve",
        ),
        span(trace, "pay-s", "c-pay", "payment", ms(4), endpoint="/payment", status=500),
        span(
            trace,
            "c-pay",
            "root",
            "checkout",
            ms(1),
            kind=CLIENT,
            peer="payment",
            endpoint="/payment",
            status=500,
            latency_ms=30,
        ),
    ]
    await write(conn, rows)

    tree = await conn.fetch("SELECT * FROM trace_tree($1)", trace)

    assert [r["tree"] for r in tree] == [
        "checkout POST /checkout",
        "  checkout → payment POST /payment",
        "    payment POST /payment",
        "  checkout → inventory POST /inventory/reserve",
        "    inventory POST /inventory/reserve",
    ]
    assert [r["depth"] for r in tree] == [0, 1, 2, 1, 2]
    assert [r["span_id"] for r in tree] == ["root", "c-pay", "pay-s", "c-inv", "inv-s"]
    assert list(tree[2].keys()) == [
        "depth", "at", "service", "kind", "endpoint", "status", "latency_ms", "span_id", "tree",
    ]  # fmt: skip
    assert (tree[2]["service"], tree[2]["status"], tree[2]["at"]) == ("payment", 500, ms(4))
    assert (tree[1]["kind"], tree[1]["latency_ms"]) == ("client", 30.0)


async def test_trace_tree_shows_a_span_whose_parent_was_never_recorded_as_a_root(
    conn: asyncpg.Connection,
) -> None:
    """A lost row must not hide the spans below it."""
    trace = uuid.uuid4().hex
    t0 = datetime(2022, 3, 1, tzinfo=UTC)
    await write(
        conn,
        [
            span(trace, "root", None, "checkout", t0),
            span(trace, "lost", "missing", "payment", t0 + timedelta(milliseconds=2)),
        ],
    )
    tree = await conn.fetch("SELECT depth, tree FROM trace_tree($1)", trace)
    assert [(r["depth"], r["tree"]) for r in tree] == [
        (0, "checkout POST /checkout"),
        (0, "payment POST /checkout"),
    ]


def lifecycle(token: str, *steps: str) -> list[IncidentEvent]:
    """The history events of an incident opened at T0 and then moved through `steps`."""
    now = later(0)
    current: Incident = open_incident(
        payment_errors(), incident_id=f"INC-{token}", now=now, policy=IncidentPolicy()
    )
    events = changes(None, current, now=now)
    for step in steps:
        now += timedelta(seconds=30)
        after = (
            acknowledge(current, now=now) if step == "ack" else resolve(current, now=now, by="user")
        )
        events += changes(current, after, now=now)
        current = after
    return events


async def test_open_incidents_takes_each_incidents_latest_change_and_skips_resolved_ones(
    conn: asyncpg.Connection,
) -> None:
    """Acknowledged counts as open; an incident resolved after it was acknowledged does not."""
    token = uuid.uuid4().hex[:8]
    acked, resolved, fresh = (f"{token}-{n}" for n in ("acked", "resolved", "fresh"))
    await incident_history.append(conn, lifecycle(acked, "ack"))
    await incident_history.append(conn, lifecycle(resolved, "ack", "resolve"))
    await incident_history.append(conn, lifecycle(fresh))
    ids = [f"INC-{i}" for i in (acked, resolved, fresh)]

    rows = await conn.fetch(
        "SELECT * FROM open_incidents WHERE incident_id = ANY($1) ORDER BY incident_id", ids
    )

    assert [(r["incident_id"], r["status"], r["last_event"]) for r in rows] == [
        (f"INC-{acked}", "acknowledged", "acknowledged"),
        (f"INC-{fresh}", "open", "opened"),
    ]
    assert rows[0]["root_cause"] == "payment /payment"
    assert rows[0]["opened_at"] == later(0)
    assert rows[0]["updated_at"] == later(30)


async def test_incident_timeline_lists_every_change_newest_first(
    conn: asyncpg.Connection,
) -> None:
    """Opened, acknowledged, resolved: three rows, the resolution on top."""
    incident_id = f"INC-{uuid.uuid4().hex[:8]}"
    await incident_history.append(
        conn, lifecycle(incident_id.removeprefix("INC-"), "ack", "resolve")
    )
    rows = await conn.fetch(
        "SELECT at, event, status, detail FROM incident_timeline WHERE incident_id = $1",
        incident_id,
    )
    assert [(r["at"], r["event"], r["status"]) for r in rows] == [
        (later(60), "resolved", "resolved"),
        (later(30), "acknowledged", "acknowledged"),
        (later(0), "opened", "open"),
    ]
    assert rows[0]["detail"] == "resolved by user"


async def test_baselines_view_shows_keys_as_the_api_and_the_analyzers_own_threshold(
    conn: asyncpg.Connection,
) -> None:
    """Keys read "service target" or "caller → callee"; the threshold is the one the analyzer
    counts slow requests by (level x multiplier, the 5 ms floor included; a noisy series'
    spread does not widen it), and empty while a baseline learns."""
    service = f"svc-{uuid.uuid4().hex[:8]}"
    config = DetectionConfig()

    def learned(key: SeriesKey, level: float, spread: float, windows: int) -> Baseline:
        return Baseline(key, level, spread, 20.0, 0.01, 1200, windows, later(0))

    noisy = learned(SeriesKey.endpoint(service, "/payment"), 10.0, 8.0, 12)  # 2 x 10 ms
    fast = learned(SeriesKey.edge(service, "payment"), 1.0, 0.0, 12)  # the 5 ms floor
    young = learned(SeriesKey.endpoint(service, "/young"), 10.0, 1.0, 3)  # still learning
    await save_baselines(conn, {b.key: b for b in (noisy, fast, young)}, config)
    rows = await conn.fetch(
        "SELECT key, kind, level_ms, threshold_ms, windows FROM baselines WHERE key LIKE $1",
        f"{service} %",
    )
    assert [tuple(r.values()) for r in rows] == [
        (f"{service} /payment", "endpoint", Decimal("10.0"), Decimal("20.0"), 12),
        (f"{service} /young", "endpoint", Decimal("10.0"), None, 3),
        (f"{service} → payment", "edge", Decimal("1.0"), Decimal("5.0"), 12),
    ]
    assert latency_threshold(noisy, config) == 20.0  # the same rule, not a copy of it


async def test_the_migrations_apply_again_by_hand(conn: asyncpg.Connection) -> None:
    """`psql -f` of each migration in turn, on a database that has them, changes nothing."""
    for migration in load_migrations("analyzer"):
        await conn.execute(migration.sql)
    comments = await conn.fetch(
        "SELECT c.relname FROM pg_class AS c WHERE c.relname = ANY($1)"
        " AND obj_description(c.oid, 'pg_class') IS NOT NULL ORDER BY c.relname",
        ["baselines", "endpoint_stats_minute", "incident_timeline", "open_incidents"],
    )
    assert [r["relname"] for r in comments] == [
        "baselines", "endpoint_stats_minute", "incident_timeline", "open_incidents",
    ]  # fmt: skip
    described = await conn.fetchval(
        "SELECT obj_description('trace_tree(text)'::regprocedure, 'pg_proc')"
    )
    assert "trace_tree(" in described
