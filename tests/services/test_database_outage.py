"""PostgreSQL stopped under traffic: every request that needs it fails with a clean 503 or
502 that says why, and no telemetry row is lost."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import Shop, service_env
from tests.support.containers import ContainerPostgres, Containers
from tests.support.processes import ServiceProcess

ORDER = {"items": [{"sku": "SKU-001", "quantity": 1}], "amount": 19.99, "currency": "USD"}
PAYMENTS = 300
CHECKOUTS = 20


@pytest.fixture(scope="module")
def outage_shop(containers: Containers) -> Iterator[tuple[ContainerPostgres, Shop]]:
    """A database and shop of their own, so stopping PostgreSQL disturbs no other test."""
    postgres = containers.postgres("outage-postgres")
    env = service_env(postgres.dsn)
    started: list[ServiceProcess] = []
    try:
        for app in ("payment", "inventory"):
            started.append(ServiceProcess(f"{app}.app:create_app", env).start())
        payment, inventory = started
        urls = {"AIOPS_PAYMENT_URL": payment.url, "AIOPS_INVENTORY_URL": inventory.url}
        started.append(ServiceProcess("checkout.app:create_app", {**env, **urls}).start())
        yield postgres, Shop(checkout=started[2], payment=payment, inventory=inventory)
    finally:
        for process in reversed(started):
            process.stop()
        postgres.destroy()


async def health(client: httpx.AsyncClient, process: ServiceProcess) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get(f"{process.url}/health")).json()
    return body


async def test_outage_loses_no_telemetry_and_fails_every_request_cleanly(
    outage_shop: tuple[ContainerPostgres, Shop],
) -> None:
    postgres, shop = outage_shop
    services = (shop.checkout, shop.payment, shop.inventory)
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.post(f"{shop.checkout.url}/checkout", json=ORDER)).status_code == 200

        postgres.stop()
        payments = await asyncio.gather(
            *(
                client.post(
                    f"{shop.payment.url}/payment",
                    json={"amount": 5, "currency": "USD"},
                    headers={"X-Trace-Id": f"outage-pay-{i}"},
                )
                for i in range(PAYMENTS)
            )
        )
        checkouts = [
            await client.post(
                f"{shop.checkout.url}/checkout",
                json=ORDER,
                headers={"X-Trace-Id": f"outage-co-{i}"},
            )
            for i in range(CHECKOUTS)
        ]
        during = {process.app: await health(client, process) for process in services}

        postgres.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            after = [await health(client, process) for process in services]
            if all(h["telemetry"]["buffered"] == 0 for h in after):
                break
            await asyncio.sleep(0.2)

    # Payment records its authorizations in PostgreSQL: a clean, explained refusal.
    assert [r.status_code for r in payments] == [503] * PAYMENTS
    assert payments[0].json()["detail"].startswith("payment database unavailable")
    # So checkout fails at payment, before it asks inventory (whose stock is there too).
    assert {r.status_code for r in checkouts} == {502}
    assert "payment failed with HTTP 503" in checkouts[0].json()["detail"]
    payment_during = during["payment.app:create_app"]["telemetry"]
    assert payment_during["state"] == "retrying"
    assert payment_during["buffered"] >= PAYMENTS
    assert payment_during["last_flush_error"]
    for process in services:
        assert during[process.app]["checks"]["database"].startswith("unavailable")

    conn = await asyncpg.connect(postgres.dsn)
    try:
        stored_payments = await conn.fetchval(
            "SELECT count(*) FROM telemetry "
            "WHERE trace_id LIKE 'outage-pay-%' AND service_name = 'payment' AND kind = 'server'"
        )
        per_checkout = await conn.fetch(
            "SELECT trace_id, "
            "array_agg(service_name || ':' || kind ORDER BY service_name, kind) AS spans "
            "FROM telemetry WHERE trace_id LIKE 'outage-co-%' AND method <> 'SQL' "
            "GROUP BY trace_id"
        )
    finally:
        await conn.close()
    assert stored_payments == PAYMENTS
    assert len(per_checkout) == CHECKOUTS
    # checkout's server span, its call to payment and payment's server span (queries that
    # met a dead connection may add SQL spans: left out)
    expected = ["checkout:client", "checkout:server", "payment:server"]
    assert all(list(row["spans"]) == expected for row in per_checkout)
    assert all(h["telemetry"]["dropped"] == 0 for h in after)
