"""Root cause and incidents end to end over real processes: shop, analyzer, Redis, PostgreSQL.

Payment is reached through a TCP proxy, so the test can swap in a slow
payment, or a dead one, with no gap in between, while traffic enters at
checkout. The analyzer must blame payment each time, not checkout.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from aiops_telemetry import apply_migrations
from tests.conftest import service_env
from tests.support.containers import ContainerRedis
from tests.support.fake_http import FakeServer, fake_server
from tests.support.processes import ServiceProcess, free_port
from tests.support.tcp_proxy import TcpProxy, tcp_proxy
from tests.support.traffic import SPREAD_ORDERS, checkouts

DEADLINE_S = 30.0  # the limit for an incident to appear
JUDGED_KEYS = 6  # checkout, payment and inventory's endpoints; their three edges


@pytest.fixture(scope="module")
def payments(database_url: str) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    """A normal payment (8 ms of work) and a slow one (600 ms), both recording as "payment"."""
    normal = ServiceProcess("payment.app:create_app", service_env(database_url)).start()
    slow = ServiceProcess(
        "payment.app:create_app", service_env(database_url, AIOPS_WORK_MS="600")
    ).start()
    yield normal, slow
    for process in (normal, slow):
        process.stop()


@pytest.fixture
async def proxy(payments: tuple[ServiceProcess, ServiceProcess]) -> AsyncIterator[TcpProxy]:
    async with tcp_proxy(payments[0].port) as proxy:
        yield proxy


@pytest.fixture
async def webhook() -> AsyncIterator[FakeServer]:
    async with fake_server(status=200) as server:
        yield server


@dataclass(frozen=True)
class Stack:
    checkout: ServiceProcess
    analyzer: ServiceProcess
    analyzer_env: dict[str, str]


async def forget_learned_state(database_url: str) -> None:
    """A first start: no baselines, graph or progress left by other tests' analyzers.

    Restored baselines of traffic that has stopped would rightly report silence.
    """
    conn = await asyncpg.connect(database_url)
    try:
        await apply_migrations(conn, component="analyzer", package="analyzer")
        await conn.execute("TRUNCATE analyzer_baselines, analyzer_progress, analyzer_dependencies")
    finally:
        await conn.close()


@pytest.fixture
async def stack(
    database_url: str, redis_server: ContainerRedis, proxy: TcpProxy, webhook: FakeServer
) -> AsyncIterator[Stack]:
    await forget_learned_state(database_url)
    env = service_env(database_url)
    redis_url = redis_server.reset()
    analyzer_env = {
        "AIOPS_DATABASE_URL": database_url,
        "AIOPS_PARTITION_MAINTENANCE": "false",  # the session database is shared
        "AIOPS_REDIS_URL": redis_url,
        "AIOPS_ANALYSIS_INTERVAL": "1",
        # Past a slow (600 ms, with jitter) request plus the 0.5 s telemetry flush: a row
        # landing after its window was read is never judged, so a shorter lag shows the
        # analyzer payment's slow spans without checkout's, or neither.
        "AIOPS_INGEST_LAG": "2",
        "AIOPS_BASELINE_MIN_WINDOWS": "5",
        "AIOPS_LEADER_TTL": "3",
        "AIOPS_WEBHOOK_URLS": f"{webhook.url}/hook",
    }
    started: list[ServiceProcess] = []
    try:
        inventory = ServiceProcess("inventory.app:create_app", env).start()
        started.append(inventory)
        checkout = ServiceProcess(
            "checkout.app:create_app",
            {
                **env,
                "AIOPS_PAYMENT_URL": f"http://127.0.0.1:{proxy.port}",
                "AIOPS_INVENTORY_URL": inventory.url,
            },
        ).start()
        started.append(checkout)
        leader = ServiceProcess("analyzer.app:create_app", analyzer_env).start()
        started.append(leader)
        yield Stack(checkout, leader, analyzer_env)
    finally:
        for process in reversed(started):
            process.stop()


async def wait_for_open_incident(
    client: httpx.AsyncClient, analyzer: str, explained_by: str = ""
) -> list[dict[str, Any]]:
    """The open incidents once there is one whose explanation contains `explained_by`."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        incidents = (await client.get(f"{analyzer}/incidents", params={"status": "open"})).json()
        if any(explained_by in i["explanation"] for i in incidents):
            return list(incidents)
        await asyncio.sleep(0.5)
    health = (await client.get(f"{analyzer}/health")).json()
    anomalies = (await client.get(f"{analyzer}/anomalies", params={"minutes": 1})).json()
    raise AssertionError(f"no open incident within {DEADLINE_S}s: {health}, {anomalies['recent']}")


async def wait_until_judging(client: httpx.AsyncClient, analyzer: str) -> None:
    """Until every key's baseline is established: judged by its own figures, not warming up.

    Polled rather than slept: a CPU-starved analyzer learns its windows late.
    """
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        baselines = (await client.get(f"{analyzer}/baselines")).json()
        if sum(b["established"] for b in baselines) >= JUDGED_KEYS:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"baselines not established within {DEADLINE_S}s: {baselines}")


async def test_a_slow_then_dead_payment_is_one_incident_rooted_at_payment(
    stack: Stack,
    proxy: TcpProxy,
    payments: tuple[ServiceProcess, ServiceProcess],
    webhook: FakeServer,
    redis_server: ContainerRedis,
    database_url: str,
) -> None:
    analyzer = stack.analyzer.url
    async with (
        httpx.AsyncClient(timeout=10) as client,
        checkouts(stack.checkout.url, order=SPREAD_ORDERS) as statuses,
    ):
        await wait_until_judging(client, analyzer)
        assert (await client.get(f"{analyzer}/incidents")).json() == []
        assert set(statuses.values()) == {200}

        # A slow payment: checkout slows too, but the cause is payment.
        proxy.retarget(payments[1].port)
        [incident] = await wait_for_open_incident(client, analyzer, "was slow first")
        assert incident["root_cause"]["service"] == "payment", incident
        assert incident["candidates"][0]["service"] == "payment"
        assert "checkout" in incident["affected_services"]
        assert incident["anomalies"]
        assert incident["sample_trace_ids"]

        # The trace shows payment as where its trouble starts. It may show another
        # place too (a span that met a scheduler hiccup): which place is *the* cause is
        # the vote over all traces, asserted above.
        tree = (await client.get(f"{analyzer}/traces/{incident['sample_trace_ids'][0]}")).json()
        assert "payment" in {o["service"] for o in tree["origins"]}, tree["origins"]

        resolved = await client.post(f"{analyzer}/incidents/{incident['id']}/resolve")
        assert resolved.json()["status"] == "resolved"

        # Payment dies: checkout's calls get no answer. Same cause, so the incident reopens.
        proxy.retarget(free_port())
        opened = await wait_for_open_incident(client, analyzer, "did not answer")
        assert len(opened) == 1, [(i["root_cause"], i["explanation"]) for i in opened]
        [reopened] = opened
        assert reopened["id"] == incident["id"]
        assert reopened["root_cause"]["service"] == "payment"
        assert reopened["reopen_count"] == 1
        assert {502, 503} & set(statuses.values())

    # Redis holds it with a TTL; PostgreSQL holds its history; the webhook heard of it.
    redis = Redis.from_url(redis_server.url)
    ttl = await redis.ttl(f"incident:{incident['id']}")
    await redis.aclose()
    assert 0 < ttl <= 3600
    conn = await asyncpg.connect(database_url)
    events = [
        row["event"]
        for row in await conn.fetch(
            "SELECT event FROM analyzer_incident_history WHERE incident_id = $1 ORDER BY id",
            incident["id"],
        )
    ]
    await conn.close()
    assert events[0] == "opened"
    assert {"resolved", "reopened"} <= set(events)
    sent = [json.loads(body)["event"] for body in webhook.bodies]
    assert sent[:1] == ["incident.opened"]
    assert "incident.resolved" in sent

    async with httpx.AsyncClient() as client:
        graph = (await client.get(f"{analyzer}/dependencies")).json()
    edges = {(e["caller"], e["callee"]) for e in graph["edges"]}
    assert {("checkout", "payment"), ("checkout", "inventory"), ("inventory", "postgres")} <= edges


async def test_one_replica_leads_and_a_standby_takes_over_when_it_stops(
    stack: Stack, redis_server: ContainerRedis
) -> None:
    standby = ServiceProcess("analyzer.app:create_app", stack.analyzer_env).start()
    redis = Redis.from_url(redis_server.url, decode_responses=True)
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            first = (await client.get(f"{stack.analyzer.url}/health")).json()
            second = (await client.get(f"{standby.url}/health")).json()
            assert (first["role"], second["role"]) == ("leader", "standby")
            refused = await client.post(f"{standby.url}/analyze")
            assert refused.status_code == 409
            assert "standby" in refused.json()["detail"]
            # Both answer from Redis and PostgreSQL alike.
            assert (await client.get(f"{standby.url}/incidents")).status_code == 200

            assert await redis.get("analyzer:leader") == first["identity"]
            stack.analyzer.stop()
            # It released the lock on the way out, rather than leaving it to expire.
            assert await redis.get("analyzer:leader") in (None, second["identity"])
            deadline = time.monotonic() + 15
            while (await client.get(f"{standby.url}/health")).json()["role"] != "leader":
                assert time.monotonic() < deadline, "the standby never took over"
                await asyncio.sleep(0.2)
    finally:
        standby.stop()
        await redis.aclose()
