"""The incident desk against real Redis and PostgreSQL: dedup, history, restarts, outages."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from aiops_engine.incidents import EventKind, IncidentPolicy, Status
from analyzer.incidents import IncidentDesk, IncidentStore, Notifier
from tests.support.containers import ContainerRedis

from .findings import inventory_errors, later, payment_errors, shop_graph

POLICY = IncidentPolicy(correlation_window_s=300, resolve_after_s=120)
GRAPH = shop_graph()


@pytest.fixture
def pool_options() -> dict[str, Any]:
    # A short lock timeout: a test holding a table lock makes writes fail fast.
    return {"min_size": 1, "max_size": 2, "server_settings": {"lock_timeout": "500ms"}}


@pytest.fixture
async def desk(redis: Redis, pool: asyncpg.Pool) -> AsyncIterator[IncidentDesk]:
    async with Notifier([]) as notifier:
        yield IncidentDesk(IncidentStore(redis, ttl_s=3600), pool, notifier, POLICY)


async def history_of(pool: asyncpg.Pool, incident_id: str) -> list[tuple[str, str]]:
    rows = await pool.fetch(
        "SELECT event, status FROM analyzer_incident_history WHERE incident_id = $1 "
        "ORDER BY at, id",
        incident_id,
    )
    return [(row["event"], row["status"]) for row in rows]


async def test_a_finding_opens_one_incident_with_a_ttl_and_a_history_row(
    desk: IncidentDesk, pool: asyncpg.Pool
) -> None:
    [event] = await desk.process([payment_errors()], now=later(0), graph=GRAPH)
    assert event.kind is EventKind.OPENED
    [incident] = await desk.store.list()
    assert incident.root_cause.service == "payment"
    assert await desk.store.ttl_s(incident.id) is not None
    assert await history_of(pool, incident.id) == [("opened", "open")]


async def test_the_same_cause_over_many_cycles_stays_one_incident(desk: IncidentDesk) -> None:
    for second in range(0, 60, 5):
        await desk.process([payment_errors(at=second)], now=later(second), graph=GRAPH)
    [incident] = await desk.store.list()
    assert incident.last_anomaly_at == later(55)


async def test_two_independent_faults_are_two_incidents(desk: IncidentDesk) -> None:
    await desk.process([payment_errors(), inventory_errors()], now=later(0), graph=GRAPH)
    roots = sorted(i.root_cause.service for i in await desk.store.list())
    assert roots == ["inventory", "payment"]


async def test_a_restarted_analyzer_updates_the_open_incident(
    redis: Redis, pool: asyncpg.Pool, desk: IncidentDesk
) -> None:
    await desk.process([payment_errors()], now=later(0), graph=GRAPH)
    async with Notifier([]) as notifier:
        restarted = IncidentDesk(IncidentStore(redis, ttl_s=3600), pool, notifier, POLICY)
        await restarted.process([payment_errors(at=30)], now=later(30), graph=GRAPH)
    [incident] = await desk.store.list()
    assert incident.last_anomaly_at == later(30)


async def test_lifecycle_is_recorded_in_the_history_table(
    desk: IncidentDesk, pool: asyncpg.Pool
) -> None:
    await desk.process([payment_errors()], now=later(0), graph=GRAPH)
    [incident] = await desk.store.list()
    acknowledged = await desk.acknowledge(incident.id, now=later(10))
    assert acknowledged is not None
    assert acknowledged.status is Status.ACKNOWLEDGED
    await desk.process([], now=later(119), graph=GRAPH)  # not quiet for long enough yet
    await desk.process([], now=later(120), graph=GRAPH)  # quiet for resolve_after: resolved
    await desk.process([payment_errors(at=200)], now=later(200), graph=GRAPH)  # back: reopened
    assert await history_of(pool, incident.id) == [
        ("opened", "open"),
        ("acknowledged", "acknowledged"),
        ("resolved", "resolved"),
        ("reopened", "open"),
    ]
    [reopened] = await desk.store.list()
    assert (reopened.id, reopened.reopen_count) == (incident.id, 1)


async def test_findings_wait_for_redis_and_become_incidents_when_it_returns(
    desk: IncidentDesk, redis_server: ContainerRedis
) -> None:
    redis_server.stop()
    try:
        events = await desk.process([payment_errors()], now=later(0), graph=GRAPH)
        assert events == []
        assert desk.stats.redis_error is not None
        assert desk.stats.pending_findings == 1
    finally:
        redis_server.start()
    [event] = await desk.process([], now=later(5), graph=GRAPH)
    assert event.kind is EventKind.OPENED
    assert desk.stats.redis_error is None
    assert desk.stats.pending_findings == 0
    assert len(await desk.store.list()) == 1


async def test_a_full_queue_during_a_long_outage_counts_what_it_drops(
    redis: Redis, pool: asyncpg.Pool, redis_server: ContainerRedis
) -> None:
    async with Notifier([]) as notifier:
        small = IncidentDesk(
            IncidentStore(redis, ttl_s=3600), pool, notifier, POLICY, max_pending=2
        )
        redis_server.stop()
        try:
            for second in range(3):
                await small.process([payment_errors(at=second)], now=later(second), graph=GRAPH)
        finally:
            redis_server.start()
    assert (small.stats.pending_findings, small.stats.dropped_findings) == (2, 1)


async def test_a_finding_the_rules_reject_is_dropped_and_counted_not_blocking(
    desk: IncidentDesk,
) -> None:
    broken = dataclasses.replace(payment_errors(), anomalies=())  # no anomalies: no time
    await desk.process([broken, inventory_errors()], now=later(0), graph=GRAPH)
    assert desk.stats.failed_findings == 1
    assert desk.stats.pending_findings == 0
    assert [i.root_cause.service for i in await desk.store.list()] == ["inventory"]


async def test_a_replica_standing_down_writes_what_waited_for_redis(
    desk: IncidentDesk, redis_server: ContainerRedis
) -> None:
    redis_server.stop()
    try:
        await desk.process([payment_errors()], now=later(0), graph=GRAPH)
    finally:
        redis_server.start()
    await desk.hand_over(now=later(5), graph=GRAPH)
    assert desk.stats.pending_findings == 0
    assert len(await desk.store.list()) == 1


async def test_history_that_postgres_refused_is_written_on_the_next_flush(
    desk: IncidentDesk, pool: asyncpg.Pool, database_url: str
) -> None:
    await desk.process([payment_errors()], now=later(0), graph=GRAPH)
    [incident] = await desk.store.list()
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            # Hold the table so the append fails fast, as if PostgreSQL were away.
            await conn.execute("LOCK TABLE analyzer_incident_history IN ACCESS EXCLUSIVE MODE")
            await desk.acknowledge(incident.id, now=later(1))
            assert desk.stats.pending_history == 1
    finally:
        await conn.close()
    await desk.flush_history()
    assert desk.stats.pending_history == 0
    assert [e for e, _ in await history_of(pool, incident.id)] == ["opened", "acknowledged"]
