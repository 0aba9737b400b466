"""OTLP spans through the receiver are what the analyzer's queries expect of our own spans."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from aiops_engine.detection import SeriesKey
from aiops_engine.rows import to_span
from aiops_telemetry import CLIENT, COLUMNS, SERVER
from analyzer.store.traces import trace_spans, window_dependencies
from analyzer.store.windows import SPAN_FAILED_SQL, window_stats
from tests.support.processes import ServiceProcess
from tests.support.telemetry_rows import span, wait_for_rows

from . import otlp_requests as otlp


async def test_the_window_query_sees_otlp_server_and_client_spans_like_ours(
    ingest: ServiceProcess, db: asyncpg.Connection
) -> None:
    catalog, pricing = (f"{name}-{uuid.uuid4().hex[:8]}" for name in ("catalog", "pricing"))
    start = datetime(2031, 1, 1, tzinfo=UTC) + timedelta(minutes=uuid.uuid4().int % 500_000)
    at = int(start.timestamp() * 1e9) + 1_000_000
    trace = otlp.trace_id()
    root = otlp.span(
        trace,
        "GET /catalog",
        start_ns=at,
        duration_ms=40,
        attributes={"http.route": "/catalog", "http.response.status_code": 200},
        exception={"exception.type": "RuntimeError", "exception.message": "stale cache"},
    )
    work = otlp.span(trace, "render", kind=otlp.INTERNAL, parent=root.span_id, start_ns=at)
    call = otlp.span(
        trace,
        "GET",
        kind=otlp.CLIENT,
        parent=work.span_id,
        start_ns=at + 1_000_000,
        duration_ms=20,
        attributes={"server.address": pricing, "http.response.status_code": 200},
    )
    served = otlp.span(
        trace,
        "GET /price",
        parent=call.span_id,
        start_ns=at + 2_000_000,
        duration_ms=15,
        attributes={"http.route": "/price", "http.response.status_code": 200},
    )
    request = otlp.request({catalog: [root, work, call], pricing: [served]})
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{ingest.url}/v1/traces",
            content=request.SerializeToString(),
            headers={"Content-Type": "application/x-protobuf"},
        )
    assert response.status_code == 200
    assert len(await wait_for_rows(db, "trace_id = $1", trace.hex(), count=4)) == 4

    end = start + timedelta(seconds=5)
    windows = {
        s.key: s
        for s in await window_stats(db, start=start, end=end)
        if s.key.service in (catalog, pricing)
    }
    assert {key: (s.count, s.error_count) for key, s in windows.items()} == {
        SeriesKey.endpoint(catalog, "/catalog"): (1, 1),  # HTTP 200, but it raised
        SeriesKey.edge(catalog, pricing): (1, 0),
        SeriesKey.endpoint(pricing, "/price"): (1, 0),
    }  # the internal span is work inside catalog, not a key of its own
    edges = await window_dependencies(db, start=start, end=end)
    assert [(d.caller, d.callee, d.calls) for d in edges if d.caller == catalog] == [
        (catalog, pricing, 1)
    ]
    spans = (await trace_spans(db, [trace.hex()]))[trace.hex()]
    assert {(s.service, s.kind): s.failed for s in spans} == {
        (catalog, "server"): True,
        (catalog, "internal"): False,
        (catalog, "client"): False,
        (pricing, "server"): False,
    }


async def test_the_sql_failure_rule_and_span_failed_agree_on_every_combination(
    db: asyncpg.Connection,
) -> None:
    service = f"rule-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    combos = list(
        itertools.product(
            (SERVER, CLIENT),
            (None, 200, 404, 500),
            (None, "exception", "error_status", "cancelled", "timeout"),
            ("GET", "SQL", ""),
        )
    )
    rows = [
        span(service, at=now, method=method, status=status, kind=kind, error_kind=error_kind,
             peer="peer" if kind == CLIENT else None, span_id=f"{i:016x}")
        for i, (kind, status, error_kind, method) in enumerate(combos)
    ]  # fmt: skip
    await db.copy_records_to_table("telemetry", records=rows, columns=COLUMNS)
    found = await db.fetch(
        f"SELECT span_id, {SPAN_FAILED_SQL} AS failed FROM telemetry WHERE service_name = $1",
        service,
    )
    in_sql = {r["span_id"]: r["failed"] for r in found}
    in_python = {s.span_id: s.failed for s in map(to_span, rows)}
    assert len(in_sql) == len(in_python) == len(combos)
    assert in_sql == in_python
    # The rules it pins, spot-checked: a server span's failure kind fails it, cancelled not.
    index = combos.index((SERVER, 200, "exception", "GET"))
    assert in_python[f"{index:016x}"]
    assert not in_python[f"{combos.index((SERVER, None, 'cancelled', 'GET')):016x}"]
    assert not in_python[f"{combos.index((CLIENT, None, None, '')):016x}"]
    assert in_python[f"{combos.index((CLIENT, None, None, 'GET')):016x}"]
