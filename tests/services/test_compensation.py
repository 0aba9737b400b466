"""An order that fails after payment voids its payment: at once, or later, never lost.

The shop here has a database of its own, so no other checkout's retrier (they
all share their database's ledger, as replicas do) voids what a test expects
to find pending.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import asyncpg
import httpx
import pytest

from aiops_api.shop import CheckoutError, PaymentVoids, UnknownPaymentError, VoidedPayment
from checkout.compensation import Compensator, RetryPolicy
from checkout.payment_void import UNKNOWN_TO_PAYMENT
from checkout.voids import PendingVoid, VoidLedger
from payment.app import create_app as create_payment
from payment.settings import PaymentSettings
from tests.conftest import Shop, service_env
from tests.support.asgi import lifespan_client
from tests.support.containers import ContainerPostgres
from tests.support.polling import eventually
from tests.support.processes import ServiceProcess
from tests.support.telemetry_rows import wait_for_rows

TOKEN = "compensation-chaos-token"
AUTH = {"X-Chaos-Token": TOKEN}
SOLD_OUT = "T-COMP-SOLD-OUT"
VOID = "/payment/{payment_id}/void"


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
    assert body.payment is not None
    assert body.payment.status == "voided"
    assert await payment_status(own_db, body.payment.id) == "voided"
    left = await own_db.fetchval(
        "SELECT count(*) FROM payment_authorizations WHERE trace_id = $1 AND status <> 'voided'",
        response.headers["x-trace-id"],
    )
    assert left == 0
    assert await ledger_status(own_db, body.payment.id) == "voided"


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
    assert body.payment is not None
    assert body.payment.status == "void_pending"
    payment_id = body.payment.id

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
    assert body.payment is not None
    assert body.payment.status == "void_pending"
    payment_id = body.payment.id
    assert await ledger_status(own_db, payment_id) == "pending"

    await client.delete(f"{comp_shop.payment.url}/simulate", headers=AUTH)

    async def voided() -> bool:
        return await payment_status(own_db, payment_id) == "voided"

    await eventually(voided, within=30, what="the surviving checkout voiding it", every=0.1)


async def test_voiding_is_idempotent_and_an_unknown_payment_is_a_404(
    own_database_url: str, comp_shop: Shop, own_db: asyncpg.Connection
) -> None:
    """In-process payment: a second void answers exactly as the first; no row, no void."""
    app = create_payment(PaymentSettings(database_url=own_database_url, work_ms=0))
    async with lifespan_client(app) as payment:
        authorized = await payment.post("/payment", json={"amount": 7.25, "currency": "EUR"})
        assert authorized.status_code == 200, authorized.text
        payment_id = authorized.json()["payment_id"]
        first = await payment.post(f"/payment/{payment_id}/void")
        again = await payment.post(f"/payment/{payment_id}/void")
        unknown = await payment.post("/payment/pay_nosuchpayment00/void")
        malformed = await payment.post("/payment/not%20an%20id/void")
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    voided = VoidedPayment.model_validate_json(first.content)
    assert (voided.payment_id, voided.amount, voided.currency) == (payment_id, 7.25, "EUR")
    assert await payment_status(own_db, payment_id) == "voided"
    assert unknown.status_code == 404
    missing = UnknownPaymentError.model_validate_json(unknown.content)
    assert (missing.detail, missing.payment_id) == (
        "unknown payment 'pay_nosuchpayment00'",
        "pay_nosuchpayment00",
    )
    assert missing.trace_id == unknown.headers["x-trace-id"]
    assert malformed.status_code == 422


class FakeLedger(VoidLedger):
    """A ledger in a dict that can be down (every call raises, as a stopped PostgreSQL)."""

    def __init__(self) -> None:
        self.up = False
        self.rows: dict[str, PendingVoid] = {}
        self.done: set[str] = set()
        self.notes: dict[str, str] = {}

    def _check(self) -> None:
        if not self.up:
            raise ConnectionRefusedError("database down")

    async def open(self, void: PendingVoid, *, due_in_s: float) -> None:
        self._check()
        self.rows.setdefault(void.payment_id, void)

    async def voided(self, payment_id: str, *, note: str | None = None) -> None:
        self._check()
        self.done.add(payment_id)
        if note is not None:
            self.notes[payment_id] = note

    async def failed(self, payment_id: str, error: str, *, retry_in_s: float) -> None:
        self._check()
        void = self.rows[payment_id]
        self.rows[payment_id] = replace(void, attempts=void.attempts + 1, last_error=error)

    async def claim_due(self, *, limit: int, lease_s: float) -> list[PendingVoid]:
        self._check()
        return [v for pid, v in self.rows.items() if pid not in self.done][:limit]

    async def pending_count(self) -> int:
        self._check()
        return len(self.rows.keys() - self.done)


async def test_a_void_not_even_the_ledger_can_take_is_held_until_it_can() -> None:
    """Payment and checkout's database both down (the stack's one PostgreSQL stopped): the
    void is held in memory, written to the ledger once the database is back, and done from
    there once payment is."""
    payment_up = False
    calls: list[str] = []

    def payment(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if not payment_up:
            return httpx.Response(503, json={"detail": "payment database unavailable"})
        return httpx.Response(
            200,
            json={
                "payment_id": "pay_held",
                "status": "voided",
                "amount": 1.0,
                "currency": "USD",
                "voided_at": "2025-01-01T00:00:00Z",
            },
        )

    ledger = FakeLedger()
    policy = RetryPolicy(interval_s=0.01, initial_s=0.01, max_s=0.05, batch_size=10, lease_s=1)
    transport = httpx.MockTransport(payment)
    async with httpx.AsyncClient(transport=transport, base_url="http://payment") as client:
        compensator = Compensator(payment=client, ledger=ledger, policy=policy)
        outcome = await compensator.void_after_failure(
            payment_id="pay_held", order_id="ord_held", reason="inventory: sold out"
        )
        assert outcome.status == "void_pending"
        assert await compensator.status() == "unknown: ConnectionRefusedError; 1 held in memory"
        async with compensator.retrying():
            ledger.up = True

            async def recorded() -> bool:
                return "pay_held" in ledger.rows

            await eventually(recorded, within=10, what="the held void in the ledger", every=0.01)
            assert ledger.rows["pay_held"].attempts >= 1
            assert "HTTP 503" in (ledger.rows["pay_held"].last_error or "")
            assert await compensator.status() == "1 pending"
            payment_up = True

            async def done() -> bool:
                return "pay_held" in ledger.done

            await eventually(done, within=10, what="the void done from the ledger", every=0.01)
    assert await compensator.status() == "ok"
    assert set(calls) == {"/payment/pay_held/void"}


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ({"detail": "unknown payment 'pay_gone'", "payment_id": "pay_gone"}, "voided"),
        ({"detail": "Not Found"}, "void_pending"),  # not payment's answer: a wrong URL, say
        ({"detail": "unknown payment 'pay_other'", "payment_id": "pay_other"}, "void_pending"),
    ],
    ids=["payment-has-no-such-authorization", "some-other-404", "another-payment"],
)
async def test_a_void_of_a_payment_that_payment_no_longer_has_is_done(
    caplog: pytest.LogCaptureFixture, answer: dict[str, str], outcome: str
) -> None:
    """Payment deletes authorizations past its retention (their hold has lapsed): its 404
    for this very payment means nothing is left to void, so the void is done, with a warning
    and the reason kept in the ledger. Any other 404 is retried like a failure."""
    caplog.set_level(logging.INFO, logger="checkout.compensation")

    def payment(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json=answer)

    ledger = FakeLedger()
    ledger.up = True
    policy = RetryPolicy(interval_s=0.01, initial_s=0.01, max_s=0.05, batch_size=10, lease_s=1)
    transport = httpx.MockTransport(payment)
    async with httpx.AsyncClient(transport=transport, base_url="http://payment") as client:
        compensator = Compensator(payment=client, ledger=ledger, policy=policy)
        result = await compensator.void_after_failure(
            payment_id="pay_gone", order_id="ord_gone", reason="inventory: sold out"
        )
    assert result.status == outcome
    if outcome == "voided":
        assert ledger.notes == {"pay_gone": UNKNOWN_TO_PAYMENT}
        [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert warning.getMessage().startswith(
            "payment pay_gone of failed order ord_gone is unknown to payment (HTTP 404"
        )
        assert "nothing is left to void" in warning.getMessage()
    else:
        assert ledger.done == set()
        assert "payment failed with HTTP 404" in (ledger.rows["pay_gone"].last_error or "")


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
