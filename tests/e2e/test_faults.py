"""Faults on the real compose stack: a dependency dies or blinks, and nothing is lost.

The tests share one stack and run in file order: payment is killed (an
incident naming payment opens), the analyzer restarts with that incident
open, Redis stops, then PostgreSQL stops under traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.compose import ComposeStack, running_stack
from tests.support.figures import record_figures
from tests.support.polling import eventually
from tests.support.traffic import ORDER, PAYMENT, checkouts, posts

pytestmark = pytest.mark.e2e

SHOP = ("checkout", "payment", "inventory")
OUTAGE_S = 25  # PostgreSQL down this long under traffic


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    with running_stack(AIOPS_ANALYSIS_INTERVAL="2") as stack:
        yield stack


async def get_json(client: httpx.AsyncClient, url: str) -> Any:
    response = await client.get(url)
    response.raise_for_status()
    return response.json()


async def open_incident_rooted_at(
    client: httpx.AsyncClient, analyzer: str, service: str
) -> dict[str, Any] | None:
    response = await client.get(f"{analyzer}/incidents", params={"status": "open"})
    if response.status_code != 200:
        return None
    return next((i for i in response.json() if i["root_cause"]["service"] == service), None)


async def test_payment_killed_checkout_says_it_is_unreachable_and_the_incident_names_payment(
    stack: ComposeStack,
) -> None:
    analyzer = stack.url("analyzer")
    async with (
        httpx.AsyncClient(timeout=30) as client,
        checkouts(stack.url("checkout"), per_second=20),
    ):
        await asyncio.sleep(8)  # traffic the analyzer has seen healthy
        # SIGKILL: no goodbye, no drained connections.
        with stack.stopped("payment", kill=True):
            incident = await eventually(
                lambda: open_incident_rooted_at(client, analyzer, "payment"),
                within=90,
                what="an open incident rooted at payment",
            )
            answer = await client.post(
                f"{stack.url('checkout')}/checkout", json=ORDER, headers={"X-Trace-Id": "killed-1"}
            )
    # Gone (503), not a timeout (504): the caller is not kept waiting. (Calls already
    # in flight on a connection to the dead container can only time out.)
    assert answer.status_code == 503, answer.text
    body = answer.json()
    assert body["service"] == "payment"
    assert "payment is unreachable" in body["detail"]
    assert body["trace_id"] == answer.headers["x-trace-id"] == "killed-1"
    record_figures(
        "faults", {"killed_payment_checkout_ms": round(answer.elapsed.total_seconds() * 1000, 1)}
    )
    assert incident["root_cause"]["service"] == "payment"


async def test_analyzer_restart_keeps_the_open_incident_its_history_and_the_baselines(
    stack: ComposeStack,
) -> None:
    analyzer = stack.url("analyzer")
    async with httpx.AsyncClient(timeout=30) as client:
        incident = await open_incident_rooted_at(client, analyzer, "payment")
        assert incident is not None, "the previous test leaves an open incident"
        before = await get_json(client, f"{analyzer}/incidents/{incident['id']}")
        learned = {b["key"]: b["windows"] for b in await get_json(client, f"{analyzer}/baselines")}
        assert learned, "baselines were learned before the restart"

        stack.compose("restart", "analyzer")
        started = stack.started_at("analyzer")

        async def cycled_since_restart() -> dict[str, Any] | None:
            with contextlib.suppress(httpx.HTTPError):
                health: dict[str, Any] = await get_json(client, f"{analyzer}/health")
                return health if health["cycles"] >= 2 else None
            return None

        health = await eventually(cycled_since_restart, within=60, what="cycles after restart")
        after = await get_json(client, f"{analyzer}/incidents/{incident['id']}")
        relearned = {
            b["key"]: b["windows"] for b in await get_json(client, f"{analyzer}/baselines")
        }

    assert stack.started_at("analyzer") == started
    assert health["baselines"] >= len(learned)  # loaded, not learned from nothing
    assert after["expired"] is False
    assert after["incident"]["status"] == "open"
    assert after["incident"]["opened_at"] == incident["opened_at"]
    assert after["incident"]["root_cause"]["service"] == "payment"
    assert before["history"]
    assert after["history"][: len(before["history"])] == before["history"]
    # Learning continued from the saved windows instead of starting again at one.
    assert all(relearned[key] >= windows for key, windows in learned.items()), (learned, relearned)


async def test_redis_stopped_the_analyzer_keeps_running_says_so_and_files_incidents_after(
    stack: ComposeStack,
) -> None:
    analyzer, inventory = stack.url("analyzer"), stack.url("inventory")
    token = {"X-Chaos-Token": stack.chaos_token}
    started = stack.started_at("analyzer")

    async def redis_reported_down() -> dict[str, Any] | None:
        health: dict[str, Any] = await get_json(client, f"{analyzer}/health")
        return health if health["redis"]["status"] == "unreachable" else None

    async def findings_queued() -> int | None:
        pending: int = (await get_json(client, f"{analyzer}/health"))["redis"]["pending_findings"]
        return pending or None

    async with (
        httpx.AsyncClient(timeout=30) as client,
        checkouts(stack.url("checkout"), per_second=20),
    ):
        try:
            with stack.stopped("redis"):
                health = await eventually(redis_reported_down, within=30, what="Redis down")
                refused = await client.get(f"{analyzer}/incidents")
                fault = await client.post(
                    f"{inventory}/simulate/error",
                    params={"endpoint": "/inventory/reserve", "rate": 1.0, "ttl": 120},
                    headers=token,
                )
                assert fault.status_code == 201, fault.text
                await eventually(findings_queued, within=90, what="findings queued for Redis")
            incident = await eventually(
                lambda: open_incident_rooted_at(client, analyzer, "inventory"),
                within=60,
                what="the queued incident in Redis once it is back",
            )
        finally:
            await client.delete(f"{inventory}/simulate", headers=token)

    assert health["status"] == "degraded"
    assert health["redis"]["error"]
    assert refused.status_code == 503
    assert "Redis" in refused.json()["detail"]
    assert incident["root_cause"]["endpoint"] == "/inventory/reserve"
    assert stack.started_at("analyzer") == started  # ran through it, no restart


async def test_postgres_stopped_under_traffic_loses_no_telemetry_and_the_analyzer_resumes(
    stack: ComposeStack,
) -> None:
    analyzer = stack.url("analyzer")
    started = stack.started_at("analyzer")
    async with httpx.AsyncClient(timeout=30) as client:
        async with (
            posts(
                f"{stack.url('payment')}/payment", PAYMENT, per_second=20, trace_prefix="pg"
            ) as paid,
            checkouts(stack.url("checkout"), per_second=5) as ordered,
        ):
            await asyncio.sleep(2)
            with stack.stopped("postgres"):
                await asyncio.sleep(OUTAGE_S)
                during = {s: await get_json(client, f"{stack.url(s)}/health") for s in SHOP}
            await asyncio.sleep(2)
        outage_cycles = (await get_json(client, f"{analyzer}/health"))["cycles"]

        async def drained() -> list[dict[str, Any]] | None:
            health = [await get_json(client, f"{stack.url(s)}/health") for s in SHOP]
            return health if all(h["telemetry"]["buffered"] == 0 for h in health) else None

        after = await eventually(drained, within=60, what="every sink drained")

        async def analyzing_again() -> dict[str, Any] | None:
            health: dict[str, Any] = await get_json(client, f"{analyzer}/health")
            fresh = health["cycles"] > outage_cycles + 1 and health["last_error"] is None
            return health if fresh else None

        await eventually(analyzing_again, within=60, what="analyzer cycles without error")

    # The traffic ran all along (20 payments and 5 checkouts a second for OUTAGE_S + 4 s): with
    # none, every check below would pass on nothing.
    assert len(paid) >= 10 * OUTAGE_S, len(paid)
    assert len(ordered) >= 2 * OUTAGE_S, len(ordered)
    # Payment keeps its authorizations in PostgreSQL: it refuses cleanly while the
    # database is away (503, never a hang or a crash) and takes payments before and after.
    assert set(paid.values()) == {200, 503}, sorted(set(paid.values()))
    # Checkout needs inventory, which needs the database: a clean refusal, never a crash.
    assert set(ordered.values()) <= {200, 502, 503, 504}, sorted(set(ordered.values()))
    assert max(h["telemetry"]["buffered"] for h in during.values()) > 0  # it did buffer
    async with stack.database() as conn:
        landed = await conn.fetchval(
            "SELECT count(*) FROM telemetry"
            " WHERE service_name = 'payment' AND kind = 'server' AND trace_id = ANY($1)",
            list(paid),
        )
    record_figures(
        "faults",
        {
            "postgres_outage_s": OUTAGE_S,
            "postgres_outage_payments": len(paid),
            "postgres_outage_rows_landed": landed,
            "postgres_outage_checkout_statuses": sorted(set(ordered.values())),
            "postgres_outage_peak_buffered": {
                s: h["telemetry"]["buffered"] for s, h in during.items()
            },
        },
    )
    assert landed == len(paid)
    assert [h["telemetry"]["dropped"] for h in after] == [0, 0, 0]
    assert stack.started_at("analyzer") == started
