"""A cold start's state swap on real PostgreSQL, and a real analyzer restarted on it.

Each test gets a database of its own: the swap empties whole tables.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest

from aiops_chaos.cold_start import put_back_learned_state, take_learned_state
from aiops_telemetry import apply_migrations
from tests.support.polling import eventually
from tests.support.processes import ServiceProcess

T = TypeVar("T")
LEARNED = ("analyzer_baselines", "analyzer_dependencies")
KEPT = ("telemetry", "analyzer_anomalies", "analyzer_incident_history")
SEED = """
INSERT INTO analyzer_baselines (kind, service, target, level_ms, spread_ms, rate_per_s,
    error_rate, samples, windows, updated_at, threshold_ms)
VALUES ('endpoint', 'payment', '/payment', 8.5, 1.2, 1.0, 0.0, 400, 40,
        now() - interval '2 hours', 25.5),
       ('edge', 'checkout', 'payment', 11.0, 2.0, 6.0, 0.01, 2400, 40,
        now() - interval '2 hours', 33.0);
INSERT INTO analyzer_dependencies (caller, callee, calls, errors, first_seen, last_seen)
VALUES ('checkout', 'payment', 2400, 3, now() - interval '3 hours', now() - interval '2 hours');
INSERT INTO analyzer_progress (last_end) VALUES (now() - interval '2 hours');
INSERT INTO telemetry ("timestamp", service_name, endpoint, method, status_code, latency_ms,
    trace_id, span_id, kind, error_kind, error_message)
VALUES (now() - interval '2 hours', 'payment', '/payment', 'POST', 200, 9.0,
        'cold-trace', '00f067aa0ba902b7', 'server', 'exception', 'RuntimeError: kept');
INSERT INTO analyzer_anomalies (detected_at, type, kind, service, target, observed, baseline,
    threshold, window_start, window_end, sample_count, score, sample_trace_ids, explanation)
VALUES (now(), 'error_spike', 'endpoint', 'payment', '/payment', 1.0, 0.0, 0.2, now(), now(),
        5, 0.9, ARRAY['cold-trace'], 'kept');
INSERT INTO analyzer_incident_history (incident_id, at, event, status, severity, root_service,
    root_endpoint, confidence, title, detail, incident)
VALUES ('INC-kept', now(), 'opened', 'open', 'high', 'payment', '/payment', 0.9, 'kept', '',
        '{}'::jsonb);
"""


@pytest.fixture
async def database(db: asyncpg.Connection, database_url: str) -> AsyncIterator[str]:
    """A fresh database with the stack's schema and a learned state; its URL."""
    name = f"cold_{uuid.uuid4().hex[:8]}"
    await db.execute(f"CREATE DATABASE {name}")
    url = database_url.rsplit("/", 1)[0] + f"/{name}"
    conn = await asyncpg.connect(url)
    try:
        await apply_migrations(conn, component="telemetry", package="aiops_telemetry")
        await apply_migrations(conn, component="analyzer", package="analyzer")
        await conn.execute(SEED)
    finally:
        await conn.close()
    yield url
    await db.execute(f"DROP DATABASE {name} WITH (FORCE)")


async def rows(conn: asyncpg.Connection, table: str) -> list[tuple[object, ...]]:
    return sorted(tuple(r) for r in await conn.fetch(f"SELECT * FROM {table}"))


async def test_taking_the_learned_state_empties_it_and_putting_it_back_restores_every_row(
    database: str,
) -> None:
    """Baselines, graph and progress go; telemetry, anomalies and incident history stay; the
    baselines and graph come back row for row (more than once: a replace, not an append)."""
    conn = await asyncpg.connect(database)
    try:
        before = {table: await rows(conn, table) for table in (*LEARNED, *KEPT)}
        state = await take_learned_state(conn)
        assert state.describe() == "2 baselines and 1 dependency edges"
        for table in (*LEARNED, "analyzer_progress"):
            assert await rows(conn, table) == [], table
        for table in KEPT:
            assert await rows(conn, table) == before[table], table
        await put_back_learned_state(conn, state)
        await put_back_learned_state(conn, state)
        assert {table: await rows(conn, table) for table in (*LEARNED, *KEPT)} == before
        assert await rows(conn, "analyzer_progress") == []  # the analyzer writes it anew
    finally:
        await conn.close()


async def stopped_while(
    analyzer: ServiceProcess, database: str, change: Callable[[asyncpg.Connection], Awaitable[T]]
) -> T:
    """Stop the analyzer, `change` its database, start it again: what a cold start does."""
    analyzer.stop()
    conn = await asyncpg.connect(database)
    try:
        result = await change(conn)
    finally:
        await conn.close()
    analyzer.start()
    return result


async def what_it_knows(client: httpx.AsyncClient) -> tuple[int, list[str], list[str]]:
    """Once it leads: the baselines it holds, and those and the graph its API shows."""

    async def leading() -> dict[str, Any] | None:
        health: dict[str, Any] = (await client.get("/health")).json()
        return health if health["role"] == "leader" else None

    health = await eventually(leading, within=30, what="the analyzer leading")
    keys = [b["key"] for b in (await client.get("/baselines")).json()]
    edges = (await client.get("/dependencies")).json()["edges"]
    return health["baselines"], keys, [f"{e['caller']}->{e['callee']}" for e in edges]


async def test_a_restarted_analyzer_leads_with_nothing_learned_then_gets_it_all_back(
    database: str, redis_url: str
) -> None:
    """The mechanism behind `cold_start = true` on a real analyzer: stopped, its learned state
    taken, started (it leads knowing nothing), stopped, the state put back, started (it knows
    it all again)."""
    analyzer = ServiceProcess(
        "analyzer.app:create_app", {"AIOPS_DATABASE_URL": database, "AIOPS_REDIS_URL": redis_url}
    )
    analyzer.start()
    try:
        async with httpx.AsyncClient(base_url=analyzer.url, timeout=10) as client:
            knew = await what_it_knows(client)
            assert knew == (2, ["checkout → payment", "payment /payment"], ["checkout->payment"])
            taken = await stopped_while(analyzer, database, take_learned_state)
            assert await what_it_knows(client) == (0, [], [])
            await stopped_while(analyzer, database, lambda c: put_back_learned_state(c, taken))
            assert await what_it_knows(client) == knew
    finally:
        analyzer.stop()
