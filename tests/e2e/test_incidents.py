"""Incidents on the real compose stack: two analyzer replicas, payment's container stopped."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.compose import ComposeStack, running_stack
from tests.support.polling import eventually
from tests.support.traffic import checkouts

pytestmark = pytest.mark.e2e

ORDER = {"items": [{"sku": "SKU-003", "quantity": 1}], "amount": 3.5, "currency": "USD"}


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    with running_stack(two_analyzers=True, AIOPS_ANALYSIS_INTERVAL="2") as stack:
        yield stack


async def test_payment_stopped_gives_one_incident_naming_payment_across_replicas(
    stack: ComposeStack,
) -> None:
    replicas = stack.analyzer_replicas
    async with httpx.AsyncClient(timeout=10) as client:

        async def one_leader() -> bool:
            # A healthy replica is standby until its first cycle takes the lease.
            roles = sorted([(await client.get(f"{r}/health")).json()["role"] for r in replicas])
            return roles == ["leader", "standby"]

        await eventually(one_leader, within=30, what="one leader and one standby")

        async with checkouts(stack.url("checkout"), per_second=20):
            await asyncio.sleep(6)
            stack.compose("stop", "payment")
            deadline = time.monotonic() + 60
            while not (incidents := (await client.get(f"{replicas[0]}/incidents")).json()):
                assert time.monotonic() < deadline, "no incident within 60 s"
                await asyncio.sleep(1)
            await asyncio.sleep(10)  # more cycles: still one incident, not one per replica

        for replica in replicas:
            incidents = (await client.get(f"{replica}/incidents")).json()
            assert len(incidents) == 1, incidents
            [incident] = incidents
            assert incident["root_cause"]["service"] == "payment"
            assert incident["status"] == "open"

    # redis-cli as `make redis-cli` runs it: the password from the stack's secrets.
    ttl = int(
        stack.exec(
            "redis", "sh", "-c",
            f'REDISCLI_AUTH="$(cat /run/secrets/aiops/redis_password)" '
            f"redis-cli TTL incident:{incident['id']}",
        )
    )  # fmt: skip
    assert 0 < ttl <= 3600
    async with stack.database() as conn:
        opened = await conn.fetchval(
            "SELECT count(*) FROM analyzer_incident_history WHERE event = 'opened'"
        )
    assert opened == 1
