"""An order that fails after payment voids its payment: at once, or later, never lost; and
when payment does not answer, the order is voided at payment, so that no authorization
outlives a failed checkout.

The shop here has a database of its own, so no other checkout's retrier (they
all share their database's ledger, as replicas do) voids what a test expects
to find pending. The compensator alone, with its real ledger and payment, is in
test_compensator.py; payment's side of the voids in test_payment_voids.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from aiops_api.shop import CheckoutError, OrderPayment, PaymentVoids
from checkout.payment_void import NOTHING_FOR_ORDER, UNKNOWN_TO_PAYMENT
from tests.conftest import Shop, service_env
from tests.support.containers import ContainerPostgres
from tests.support.polling import eventually
from tests.support.processes import ServiceProcess
from tests.support.telemetry_rows import wait_for_rows

TOKEN = "compensation-chaos-token"
AUTH = {"X-Chaos-Token": TOKEN}
SOLD_OUT = "T-COMP-SOLD-OUT"
VOID = "/payment/{payment_id}/void"
ORDER_VOID = "/payment/orders/{order_id}/void"


def order(sku: str = SOLD_OUT) -> dict[str, Any]:
    return {"items": [{"sku": sku, "quantity": 1}], "amount": 12.5, "currency": "USD"}


@pytest.fixture(scope="module")
async def own_database_url(postgres: ContainerPostgres) -> AsyncIterator[str]:
    async with postgres.fresh_database("compensation") as url:
        yield url


def checkout_env(
    database_url: str, payment: ServiceProcess, inventory: ServiceProcess
) -> dict[str, str]:
    return service_env(
        database_url,
        AIOPS_PAYMENT_URL=payment.url,
        AIOPS_INVENTORY_URL=inventory.url,
        AIOPS_DOWNSTREAM_TIMEOUT="1",
        AIOPS_VOID_RETRY_INTERVAL="0.1",
        AIOPS_VOID_BACKOFF_INITIAL="0.1",
        AIOPS_VOID_BACKOFF_MAX="0.5",
    )


@pytest.fixture(scope="module")
def comp_shop(own_database_url: str) -> Iterator[Shop]:
    """checkout → payment, inventory as processes, with the chaos API on and quick retries."""
    env = service_env(own_database_url, AIOPS_CHAOS_TOKEN=TOKEN)
    started: list[ServiceProcess] = []
    try:
        payment = ServiceProcess("payment.app:create_app", env).start()
        started.append(payment)
        inventory = ServiceProcess("inventory.app:create_app", env).start()
        started.append(inventory)
        checkout = ServiceProcess(
            "checkout.app:create_app", checkout_env(own_database_url, payment, inventory)
        ).start()
        started.append(checkout)
        yield Shop(checkout=checkout, payment=payment, inventory=inventory)
    finally:
        for process in reversed(started):
            process.stop()


@pytest.fixture
async def own_db(own_database_url: str, comp_shop: Shop) -> AsyncIterator[asyncpg.Connection]:
    """The shop's database, with a SKU that has no stock left."""
    conn: asyncpg.Connection = await asyncpg.connect(own_database_url)
    await conn.execute(
        "INSERT INTO inventory_stock (sku, name, unit_price, quantity) "
        "VALUES ($1, 'sold out', 1, 0) ON CONFLICT (sku) DO UPDATE SET quantity = 0",
        SOLD_OUT,
    )
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def client(comp_shop: Shop) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=15) as client:
        yield client
        for process in (comp_shop.payment, comp_shop.inventory):
            await client.delete(f"{process.url}/simulate", headers=AUTH)


async def inject(
    client: httpx.AsyncClient, process: ServiceProcess, kind: str, **params: Any
) -> None:
    response = await client.post(f"{process.url}/simulate/{kind}", params=params, headers=AUTH)
    assert response.status_code == 201, response.text


async def payment_status(db: asyncpg.Connection, payment_id: str) -> str | None:
    status: str | None = await db.fetchval(
        "SELECT status FROM payment_authorizations WHERE id = $1", payment_id
    )
    return status


async def ledger_status(db: asyncpg.Connection, payment_id: str) -> str | None:
    status: str | None = await db.fetchval(
        "SELECT status FROM checkout_payment_voids WHERE payment_id = $1", payment_id
    )
    return status


def voided_payment(body: CheckoutError) -> str:
    """The id of the order's payment, which checkout says it voided or will."""
    assert body.payment is not None
    assert body.payment.id is not None
    return body.payment.id


@pytest.mark.parametrize(
    ("failure", "sku", "fault", "status"),
    [
        ("insufficient stock", SOLD_OUT, None, 409),
        ("unknown SKU", "T-COMP-NOPE", None, 404),
        ("inventory error", "SKU-001", ("error", {"status": 500}), 502),
        ("inventory timeout", "SKU-001", ("hang", {"ttl": 60}), 504),
    ],
)
async def test_a_failed_reservation_leaves_no_authorized_payment_behind(
    comp_shop: Shop,
    own_db: asyncpg.Connection,
    client: httpx.AsyncClient,
    failure: str,
    sku: str,
    fault: tuple[str, dict[str, Any]] | None,
    status: int,
) -> None:
    """Whether inventory refuses, fails or does not answer, checkout voids the payment and
    says so; payment's table holds no authorization for the order's trace."""
    if fault is not None:
        kind, params = fault
        await inject(client, comp_shop.inventory, kind, endpoint="/inventory/reserve", **params)
    response = await client.post(f"{comp_shop.checkout.url}/checkout", json=order(sku))
    assert response.status_code == status, response.text
    body = CheckoutError.model_validate_json(response.content)
    assert body.service == "inventory"
    payment_id = voided_payment(body)
    assert body.payment == OrderPayment(id=payment_id, status="voided")
    assert body.order_id is not None
    assert await payment_status(own_db, payment_id) == "voided"
    left = await own_db.fetchval(
        "SELECT count(*) FROM payment_authorizations WHERE trace_id = $1 AND status <> 'voided'",
        response.headers["x-trace-id"],
    )
    assert left == 0
    assert await ledger_status(own_db, payment_id) == "voided"


async def test_the_void_is_a_traced_hop_under_the_checkouts_trace(
    comp_shop: Shop, own_db: asyncpg.Connection, client: httpx.AsyncClient
) -> None:
    """checkout's client span for the void and payment's server span, under one trace id."""
    response = await client.post(f"{comp_shop.checkout.url}/checkout", json=order())
    assert response.status_code == 409
    trace_id = response.headers["x-trace-id"]
    rows = await wait_for_rows(own_db, "trace_id = $1 AND method <> 'SQL'", trace_id, count=7)
    spans = {(r["service_name"], r["kind"], r["endpoint"]): r for r in rows}
    root = spans[("checkout", "server", "/checkout")]
    call = spans[("checkout", "client", VOID)]
    served = spans[("payment", "server", VOID)]
    assert (call["peer_service"], call["status_code"], served["status_code"]) == (
        "payment",
        200,
        200,
    )
    assert call["parent_span_id"] == root["span_id"]
    assert served["parent_span_id"] == call["span_id"]
    assert root["status_code"] == 409


async def test_a_void_payment_refuses_stays_pending_in_sight_until_the_retrier_does_it(
    comp_shop: Shop, own_db: asyncpg.Connection, client: httpx.AsyncClient
) -> None:
    """Payment answers the void 503: the order says `void_pending`, /payment-voids and
    /health show it, and once payment is back the retrier voids it, in the order's trace."""
    await inject(client, comp_shop.payment, "error", endpoint=VOID, status=503)
    response = await client.post(f"{comp_shop.checkout.url}/checkout", json=order())
    assert response.status_code == 409, response.text
    body = CheckoutError.model_validate_json(response.content)
    payment_id = voided_payment(body)
    assert body.payment == OrderPayment(id=payment_id, status="void_pending")

    listed = await client.get(
        f"{comp_shop.checkout.url}/payment-voids", params={"status": "pending"}
    )
    assert listed.status_code == 200
    voids = PaymentVoids.model_validate_json(listed.content)
    [pending] = [v for v in voids.voids if v.payment_id == payment_id]
    assert pending.status == "pending"
    assert pending.attempts >= 1
    assert pending.last_error is not None
    assert "HTTP 503" in pending.last_error
    assert pending.trace_id == response.headers["x-trace-id"]
    assert voids.pending >= 1
    health = (await client.get(f"{comp_shop.checkout.url}/health")).json()
    assert health["checks"]["payment_voids"].endswith("pending")
    assert health["status"] == "degraded"
    assert await payment_status(own_db, payment_id) == "authorized"

    await client.delete(f"{comp_shop.payment.url}/simulate", headers=AUTH)

    async def voided() -> bool:
        return await ledger_status(own_db, payment_id) == "voided"

    await eventually(voided, within=30, what="the retrier voiding the payment", every=0.1)
    assert await payment_status(own_db, payment_id) == "voided"
    # The successful retry joined the failed order's trace.
    trace_id = response.headers["x-trace-id"]
    where = "trace_id = $1 AND endpoint = $2 AND status_code = 200"
    rows = await wait_for_rows(own_db, where, trace_id, VOID, count=2)
    assert {(r["service_name"], r["kind"]) for r in rows} == {
        ("checkout", "client"),
        ("payment", "server"),
    }
    health = (await client.get(f"{comp_shop.checkout.url}/health")).json()
    assert health["checks"]["payment_voids"] == "ok"


async def test_a_pending_void_outlives_the_checkout_that_recorded_it(
    comp_shop: Shop, own_database_url: str, own_db: asyncpg.Connection, client: httpx.AsyncClient
) -> None:
    """The checkout whose void failed is stopped; the ledger keeps the void, and another
    checkout (a replica sharing the database) does it once payment is back."""
    await inject(client, comp_shop.payment, "error", endpoint=VOID, status=503)
    doomed = ServiceProcess(
        "checkout.app:create_app",
        checkout_env(own_database_url, comp_shop.payment, comp_shop.inventory),
    ).start()
    try:
        response = await client.post(f"{doomed.url}/checkout", json=order())
    finally:
        doomed.stop()
    body = CheckoutError.model_validate_json(response.content)
    payment_id = voided_payment(body)
    assert body.payment == OrderPayment(id=payment_id, status="void_pending")
    assert await ledger_status(own_db, payment_id) == "pending"

    await client.delete(f"{comp_shop.payment.url}/simulate", headers=AUTH)

    async def voided() -> bool:
        return await payment_status(own_db, payment_id) == "voided"

    await eventually(voided, within=30, what="the surviving checkout voiding it", every=0.1)


async def test_a_pending_void_whose_authorization_was_deleted_is_done_by_the_retrier(
    comp_shop: Shop, own_db: asyncpg.Connection
) -> None:
    """The real payment answers 404 for an authorization its retention deleted: the retrier
    marks the pending void done, saying why, instead of retrying it forever."""
    await own_db.execute(
        "INSERT INTO checkout_payment_voids (payment_id, order_id, reason) "
        "VALUES ('pay_expiredlongago', 'ord_expired', 'inventory: sold out')"
    )

    async def done() -> asyncpg.Record | None:
        row: asyncpg.Record | None = await own_db.fetchrow(
            "SELECT last_error FROM checkout_payment_voids "
            "WHERE payment_id = 'pay_expiredlongago' AND status = 'voided'"
        )
        return row

    row = await eventually(
        done, within=30, what="the retrier finding nothing left to void", every=0.1
    )
    assert row["last_error"] == UNKNOWN_TO_PAYMENT


async def order_authorizations(db: asyncpg.Connection, order_id: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await db.fetch(
        "SELECT id, status FROM payment_authorizations WHERE order_id = $1", order_id
    )
    return rows


async def test_a_payment_that_answers_too_late_is_voided_by_order_and_refused(
    comp_shop: Shop, own_db: asyncpg.Connection, client: httpx.AsyncClient
) -> None:
    """Payment answers 3 s late (the chaos delay), past checkout's 1 s: checkout answers 504
    and voids the order at payment before it answers, a traced hop of the order's trace.
    The late request records nothing: payment cannot read it any more (400, checkout hung
    up) or, had it read it, would find the order voided (409, test_payment_voids.py)."""
    await inject(client, comp_shop.payment, "delay", endpoint="/payment", duration=3000)
    response = await client.post(f"{comp_shop.checkout.url}/checkout", json=order("SKU-001"))
    assert response.status_code == 504, response.text
    body = CheckoutError.model_validate_json(response.content)
    assert (body.service, body.detail) == ("payment", "payment did not answer within 1.0s")
    assert body.payment == OrderPayment(id=None, status="voided")
    order_id = body.order_id
    assert order_id is not None
    trace_id = response.headers["x-trace-id"]

    late = await wait_for_rows(
        own_db,
        "trace_id = $1 AND service_name = 'payment' AND endpoint = '/payment'",
        trace_id,
        count=1,
        timeout=30,
    )
    assert [r["status_code"] in (400, 409) for r in late] == [True]
    assert await order_authorizations(own_db, order_id) == []
    ledger = await own_db.fetchrow(
        "SELECT status, payment_id, last_error FROM checkout_payment_voids WHERE order_id = $1",
        order_id,
    )
    assert ledger is not None
    assert dict(ledger) == {"status": "voided", "payment_id": None, "last_error": NOTHING_FOR_ORDER}
    hop = await wait_for_rows(
        own_db, "trace_id = $1 AND endpoint = $2", trace_id, ORDER_VOID, count=2
    )
    spans = {(r["service_name"], r["kind"]): r for r in hop}
    assert (
        spans["checkout", "client"]["status_code"]
        == spans["payment", "server"]["status_code"]
        == 200
    )
    assert spans["payment", "server"]["parent_span_id"] == spans["checkout", "client"]["span_id"]


async def test_an_authorization_made_after_checkout_gave_up_is_voided_by_the_retrier(
    comp_shop: Shop, own_database_url: str, own_db: asyncpg.Connection, client: httpx.AsyncClient
) -> None:
    """Payment's database stalls (a lock held on its table): the authorization checkout sent
    is read and waits in its INSERT; checkout gives up (504), and its void of the order waits
    on the table too, so it times out (`void_pending`). Once the database moves, the late
    authorization and the order's void both go on, and the retrier voids the order again
    until payment answers. No authorization of the order is left."""
    stall: asyncpg.Connection = await asyncpg.connect(own_database_url)
    try:
        async with stall.transaction():
            await stall.execute("LOCK TABLE payment_authorizations IN SHARE MODE")
            response = await client.post(
                f"{comp_shop.checkout.url}/checkout", json=order("SKU-001")
            )
            waiting = await stall.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' "
                "AND query LIKE '%INSERT INTO payment_authorizations%'"
            )
            assert waiting == 1  # the authorization, still to come after checkout's answer
    finally:
        await stall.close()
    assert response.status_code == 504, response.text
    body = CheckoutError.model_validate_json(response.content)
    assert body.payment == OrderPayment(id=None, status="void_pending")
    order_id = body.order_id
    assert order_id is not None

    async def done() -> asyncpg.Record | None:
        row: asyncpg.Record | None = await own_db.fetchrow(
            "SELECT payment_id FROM checkout_payment_voids "
            "WHERE order_id = $1 AND status = 'voided'",
            order_id,
        )
        return row

    row = await eventually(done, within=30, what="the retrier voiding the order", every=0.1)
    # Whichever of the authorization and the void PostgreSQL let through first, the order
    # holds nothing: recorded and then voided (the ledger names it), or refused.
    authorizations = await order_authorizations(own_db, order_id)
    assert [r["status"] for r in authorizations] in (["voided"], [])
    assert row["payment_id"] == (authorizations[0]["id"] if authorizations else None)
