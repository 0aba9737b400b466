"""Payment's voids, in-process on a database of its own: of a payment, and of an order.

An order's void is for a caller that does not know whether payment authorized (its call
got no answer): payment voids the order's authorization if it has one, and refuses any
that comes later, so no authorization outlives a failed checkout.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from aiops_api.shop import (
    OrderConflictError,
    PaymentResponse,
    UnknownPaymentError,
    VoidedOrder,
    VoidedPayment,
)
from payment.app import create_app as create_payment
from payment.settings import PaymentSettings
from tests.support.asgi import lifespan_client
from tests.support.containers import ContainerPostgres
from tests.support.telemetry_rows import connection


@pytest.fixture(scope="module")
async def payment_db_url(postgres: ContainerPostgres) -> AsyncIterator[str]:
    async with postgres.fresh_database("payment_voids") as url:
        yield url


@pytest.fixture(scope="module")
async def payment(payment_db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_payment(PaymentSettings(database_url=payment_db_url, work_ms=0))
    async with lifespan_client(app) as client:
        yield client


@pytest.fixture
async def db(payment_db_url: str) -> AsyncIterator[asyncpg.Connection]:
    async with connection(payment_db_url) as conn:
        yield conn


def new_order() -> str:
    return f"ord_{random.getrandbits(64):016x}"


def pay(order_id: str | None = None, amount: float = 12.5) -> dict[str, Any]:
    body: dict[str, Any] = {"amount": amount, "currency": "USD"}
    return body if order_id is None else {**body, "order_id": order_id}


async def statuses(db: asyncpg.Connection, order_id: str) -> list[str]:
    rows = await db.fetch("SELECT status FROM payment_authorizations WHERE order_id = $1", order_id)
    return [row["status"] for row in rows]


async def test_voiding_is_idempotent_and_an_unknown_payment_is_a_404(
    payment: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """A second void answers exactly as the first; no row, no void."""
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
    status = await db.fetchval(
        "SELECT status FROM payment_authorizations WHERE id = $1", payment_id
    )
    assert status == "voided"
    assert unknown.status_code == 404
    missing = UnknownPaymentError.model_validate_json(unknown.content)
    assert (missing.detail, missing.payment_id) == (
        "unknown payment 'pay_nosuchpayment00'",
        "pay_nosuchpayment00",
    )
    assert missing.trace_id == unknown.headers["x-trace-id"]
    assert malformed.status_code == 422


async def test_a_voided_orders_late_authorization_is_refused(
    payment: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """The order is voided before payment ever saw it (the caller gave up first): the
    authorization that arrives afterwards is refused, 409, and nothing is recorded."""
    order_id = new_order()
    voided = await payment.post(f"/payment/orders/{order_id}/void")
    assert voided.status_code == 200, voided.text
    answer = VoidedOrder.model_validate_json(voided.content)
    assert (answer.order_id, answer.status, answer.payment_id) == (order_id, "voided", None)

    late = await payment.post("/payment", json=pay(order_id))
    assert late.status_code == 409, late.text
    refused = OrderConflictError.model_validate_json(late.content)
    assert (refused.order_id, refused.payment_id) == (order_id, None)
    assert refused.detail == (
        f"order {order_id!r} was voided: payment authorizes nothing more for it"
    )
    assert refused.trace_id == late.headers["x-trace-id"]
    assert await statuses(db, order_id) == []


async def test_voiding_an_order_voids_its_authorization_and_refuses_it_again(
    payment: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """Authorized first (the answer was lost on its way to the caller): the order's void
    voids that authorization and names it; the same authorization asked again is refused."""
    order_id = new_order()
    authorized = await payment.post("/payment", json=pay(order_id))
    assert authorized.status_code == 200, authorized.text
    payment_id = PaymentResponse.model_validate_json(authorized.content).payment_id

    voided = await payment.post(f"/payment/orders/{order_id}/void")
    assert voided.status_code == 200, voided.text
    assert VoidedOrder.model_validate_json(voided.content).payment_id == payment_id
    assert await statuses(db, order_id) == ["voided"]

    again = await payment.post("/payment", json=pay(order_id))
    assert again.status_code == 409
    assert OrderConflictError.model_validate_json(again.content).payment_id == payment_id
    assert await statuses(db, order_id) == ["voided"]


@pytest.mark.parametrize("authorized_first", [False, True], ids=["nothing-held", "authorized"])
async def test_voiding_an_order_again_answers_the_same(
    payment: httpx.AsyncClient, db: asyncpg.Connection, authorized_first: bool
) -> None:
    order_id = new_order()
    if authorized_first:
        assert (await payment.post("/payment", json=pay(order_id))).status_code == 200
    answers = [await payment.post(f"/payment/orders/{order_id}/void") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].json() == answers[1].json() == answers[2].json()
    tombstones = await db.fetchval(
        "SELECT count(*) FROM payment_order_voids WHERE order_id = $1", order_id
    )
    assert tombstones == 1
    assert await statuses(db, order_id) == (["voided"] if authorized_first else [])


async def test_one_authorization_per_order(
    payment: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """The same request again answers the order's authorization again; another amount for
    the order is refused; a payment without an order is not constrained."""
    order_id = new_order()
    first = await payment.post("/payment", json=pay(order_id))
    again = await payment.post("/payment", json=pay(order_id))
    other = await payment.post("/payment", json=pay(order_id, amount=99))
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.json()["order_id"] == order_id
    assert other.status_code == 409
    conflict = OrderConflictError.model_validate_json(other.content)
    assert conflict.payment_id == first.json()["payment_id"]
    assert "already has payment" in conflict.detail
    assert await statuses(db, order_id) == ["authorized"]
    plain = [await payment.post("/payment", json=pay()) for _ in range(2)]
    assert [p.status_code for p in plain] == [200, 200]
    assert "order_id" not in plain[0].json() or plain[0].json()["order_id"] is None


async def test_an_authorization_racing_its_orders_void_never_outlives_it(
    payment: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """Forty orders, each authorized and voided at once, in either order: whichever wins the
    order's lock, no authorization is left holding money, and a refused one recorded nothing."""
    orders = [new_order() for _ in range(40)]

    async def race(order_id: str) -> tuple[int, int]:
        calls = [
            payment.post("/payment", json=pay(order_id)),
            payment.post(f"/payment/orders/{order_id}/void"),
        ]
        if random.random() < 0.5:
            calls.reverse()
            voided, authorized = await asyncio.gather(*calls)
        else:
            authorized, voided = await asyncio.gather(*calls)
        return authorized.status_code, voided.status_code

    outcomes = await asyncio.gather(*(race(order_id) for order_id in orders))
    assert {voided for _, voided in outcomes} == {200}
    assert {authorized for authorized, _ in outcomes} <= {200, 409}
    rows = await db.fetch(
        "SELECT order_id, status FROM payment_authorizations WHERE order_id = ANY($1)", orders
    )
    assert {row["status"] for row in rows} <= {"voided"}
    accepted = sum(1 for authorized, _ in outcomes if authorized == 200)
    assert len(rows) == accepted  # each accepted one recorded, and voided; no refused one
