"""The `exception` fault on the real shop: payment answers 200, its span alone says it failed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest

from analyzer.store.windows import SPAN_FAILED_SQL
from tests.conftest import Shop, running_shop, service_env
from tests.support.telemetry_rows import wait_for_rows

TOKEN = "test-chaos-token"
AUTH = {"X-Chaos-Token": TOKEN}
ORDER = {"items": [{"sku": "SKU-001", "quantity": 1}], "amount": 19.99, "currency": "USD"}
# Each row of a trace with the analyzer's own rule for a failed span.
ROWS_SQL = f"""
SELECT service_name, kind, endpoint, peer_service, status_code, error_kind, error_message,
       {SPAN_FAILED_SQL} AS failed
FROM telemetry WHERE trace_id = $1 AND method <> 'SQL' ORDER BY "timestamp"
"""


@pytest.fixture(scope="module")
def chaos_shop(database_url: str) -> Iterator[Shop]:
    """checkout → payment and inventory as processes over HTTP, with the chaos API enabled."""
    with running_shop(service_env(database_url, AIOPS_CHAOS_TOKEN=TOKEN)) as shop:
        yield shop


@pytest.fixture
async def client(chaos_shop: Shop) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client
        await client.delete(f"{chaos_shop.payment.url}/simulate", headers=AUTH)


async def test_payment_answers_200_while_its_span_fails_and_checkouts_call_succeeds(
    chaos_shop: Shop, client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """Only payment's server row failed (error_kind exception, status 200); checkout's rows,
    its call to payment included, did not: the analyzer sees payment's endpoint fail alone."""
    created = await client.post(
        f"{chaos_shop.payment.url}/simulate/exception",
        params={"endpoint": "/payment", "rate": 1.0},
        headers=AUTH,
    )
    assert created.status_code == 201, created.text
    fault = created.json()["fault"]
    assert (fault["kind"], fault["endpoint"]) == ("exception", "/payment")

    response = await client.post(f"{chaos_shop.checkout.url}/checkout", json=ORDER)
    assert response.status_code == 200, response.text
    assert "x-chaos-fault" not in response.headers
    trace_id = response.headers["x-trace-id"]
    await wait_for_rows(db, "trace_id = $1 AND method <> 'SQL'", trace_id, count=5)
    rows = {
        (r["service_name"], r["kind"], r["endpoint"], r["peer_service"]): r
        for r in await db.fetch(ROWS_SQL, trace_id)
    }
    payment = rows[("payment", "server", "/payment", None)]
    assert (payment["status_code"], payment["error_kind"], payment["failed"]) == (
        200,
        "exception",
        True,
    )
    assert payment["error_message"] == (
        f"RuntimeError: injected exception (chaos fault {fault['id']})\n"
    )
    call = next(r for key, r in rows.items() if key[1] == "client" and key[3] == "payment")
    served = rows[("checkout", "server", "/checkout", None)]
    for row in (call, served):
        assert (row["status_code"], row["error_kind"], row["failed"]) == (200, None, False)
    assert [key for key, r in rows.items() if r["failed"]] == [
        ("payment", "server", "/payment", None)
    ]


async def test_the_exception_fault_spares_other_endpoints_and_ends_when_cleared(
    chaos_shop: Shop, client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    inventory = chaos_shop.inventory.url
    await client.post(
        f"{inventory}/simulate/exception", params={"endpoint": "/inventory/{sku}"}, headers=AUTH
    )
    struck = await client.get(f"{inventory}/inventory/SKU-001")
    spared = await client.get(f"{inventory}/inventory")
    await client.delete(f"{inventory}/simulate", headers=AUTH)
    after = await client.get(f"{inventory}/inventory/SKU-001")
    assert [r.status_code for r in (struck, spared, after)] == [200, 200, 200]
    kinds = []
    for response in (struck, spared, after):
        trace_id = response.headers["x-trace-id"]
        [row] = await wait_for_rows(db, "trace_id = $1 AND kind = 'server'", trace_id, count=1)
        kinds.append(row["error_kind"])
    assert kinds == ["exception", None, None]
