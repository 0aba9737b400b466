"""The compensator on its real ledger, with a real payment: which failures of the payment
call leave an order to void, an order's void, a payment that payment no longer has, and a
void held in memory while PostgreSQL is stopped. Checkout's ledger and the payment process
share a database on the PostgreSQL tests may stop (`outage-postgres`), as the stack's
services share one. The whole shop, checkout a process too, is in test_compensation.py.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import BaseModel

from aiops_api.shop import PaymentResponse, VoidedPayment
from aiops_telemetry import Database, apply_migrations
from checkout.compensation import Compensator, RetryPolicy
from checkout.downstream import DownstreamError, post_json
from checkout.payment_void import NOTHING_FOR_ORDER, UNKNOWN_TO_PAYMENT
from checkout.voids import VoidLedger
from tests.conftest import service_env
from tests.support.containers import ContainerPostgres, Containers
from tests.support.polling import eventually
from tests.support.processes import ServiceProcess, free_port
from tests.support.tcp_proxy import tcp_proxy
from tests.support.telemetry_rows import connection

POLICY = RetryPolicy(interval_s=0.05, initial_s=0.05, max_s=0.2, batch_size=10, lease_s=1)
TOKEN = "compensator-chaos-token"
AUTH = {"X-Chaos-Token": TOKEN}
VOID = "/payment/{payment_id}/void"


@dataclass(frozen=True)
class Stack:
    postgres: ContainerPostgres  # stoppable
    url: str  # checkout's ledger and payment's authorizations, in one database on it
    payment: ServiceProcess


async def fetch(url: str, query: str, *args: object) -> list[asyncpg.Record]:
    """Rows of `query`, on a connection of its own (one from before an outage is gone)."""
    async with connection(url) as conn:
        rows: list[asyncpg.Record] = await conn.fetch(query, *args)
        return rows


@pytest.fixture(scope="module")
async def stack(containers: Containers) -> AsyncIterator[Stack]:
    postgres = containers.postgres("outage-postgres")
    name = f"compensator_{uuid.uuid4().hex[:10]}"
    await fetch(postgres.dsn, f"CREATE DATABASE {name}")
    url = f"{postgres.dsn.rsplit('/', 1)[0]}/{name}"
    env = service_env(url, AIOPS_CHAOS_TOKEN=TOKEN, AIOPS_WORK_MS="0")
    payment = ServiceProcess("payment.app:create_app", env).start()
    try:
        yield Stack(postgres=postgres, url=url, payment=payment)
    finally:
        payment.stop()
        postgres.start()  # whatever a failed test left, the next module finds it running
        await fetch(postgres.dsn, f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
async def ledger(stack: Stack) -> AsyncIterator[VoidLedger]:
    """Checkout's ledger, empty (its counts are the whole table's), on a pool and `Database`
    as checkout's own (quick to retry)."""
    pool = await asyncpg.create_pool(stack.url, min_size=1, max_size=2, timeout=5)
    async with pool.acquire() as conn:
        await apply_migrations(conn, component="checkout", package="checkout")
        await conn.execute("TRUNCATE checkout_payment_voids")
    yield VoidLedger(Database(pool, acquire_timeout=5, retry_after=0.1))
    pool.terminate()


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """The test's own client of payment (authorizations, faults); its faults cleared after."""
    async with httpx.AsyncClient(base_url=stack.payment.url, timeout=15) as client:
        yield client
        await client.delete("/simulate", headers=AUTH)


@asynccontextmanager
async def recorded(base_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    """Checkout's client of payment, and the path of each call it makes."""
    paths: list[str] = []

    async def record(request: httpx.Request) -> None:
        paths.append(request.url.path)

    async with httpx.AsyncClient(
        base_url=base_url, timeout=5, event_hooks={"request": [record]}
    ) as client:
        yield client, paths


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def payment_of(order_id: str, **body: object) -> dict[str, object]:
    return {"amount": 12.5, "currency": "USD", "order_id": order_id, **body}


async def authorize(client: httpx.AsyncClient, order_id: str) -> str:
    response = await client.post("/payment", json=payment_of(order_id))
    assert response.status_code == 200, response.text
    return PaymentResponse.model_validate_json(response.content).payment_id


async def void_row(stack: Stack, order_id: str) -> asyncpg.Record:
    [row] = await fetch(
        stack.url, "SELECT * FROM checkout_payment_voids WHERE order_id = $1", order_id
    )
    return row


async def authorizations(stack: Stack, order_id: str) -> list[str]:
    rows = await fetch(
        stack.url, "SELECT status FROM payment_authorizations WHERE order_id = $1", order_id
    )
    return [row["status"] for row in rows]


async def inject(client: httpx.AsyncClient, kind: str, **params: Any) -> None:
    response = await client.post(f"/simulate/{kind}", params=params, headers=AUTH)
    assert response.status_code == 201, response.text


# Which payment failures leave an order to void: each a real call of checkout's to payment.
Call = Callable[[Stack, httpx.AsyncClient, str], Awaitable[None]]


async def pay(
    url: str, order_id: str, *, timeout: float = 5, answer: type[BaseModel] = PaymentResponse,
    **body: object,
) -> None:  # fmt: skip
    """Checkout's authorization call, as routes.py makes it."""
    async with httpx.AsyncClient(base_url=url, timeout=timeout) as client:
        await post_json(client, "payment", "/payment", payment_of(order_id, **body),
                        answer=answer, passed_through={402})  # fmt: skip


def stalled(*, reset: bool) -> Call:
    """The call while payment's table is locked, its authorization waiting in the INSERT:
    the call times out, or its connection (a load balancer's, say) breaks."""

    # On a connection of its own: within the lock's transaction, one snapshot of it.
    async def waiting(stack: Stack) -> bool:
        rows = await fetch(
            stack.url,
            "SELECT FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO payment_authorizations%'",
        )
        return len(rows) == 1

    async def call(stack: Stack, client: httpx.AsyncClient, order_id: str) -> None:
        async with connection(stack.url) as lock, lock.transaction():
            await lock.execute("LOCK TABLE payment_authorizations IN SHARE MODE")
            async with tcp_proxy(stack.payment.port) as lb:
                url = f"http://127.0.0.1:{lb.port}"
                sent = asyncio.create_task(pay(url, order_id, timeout=5 if reset else 0.5))
                await eventually(lambda: waiting(stack), within=10, what="the authorization")
                if reset:
                    lb.retarget(free_port())
                await sent

    return call


def paying(fault: int | None = None, **how: Any) -> Call:
    """The call; payment answering `fault` instead of serving it, if given."""

    async def call(stack: Stack, client: httpx.AsyncClient, order_id: str) -> None:
        if fault is not None:
            await inject(client, "error", endpoint="/payment", status=fault)
        await pay(stack.payment.url, order_id, **how)

    return call


async def refused(stack: Stack, client: httpx.AsyncClient, order_id: str) -> None:
    await pay(f"http://127.0.0.1:{free_port()}", order_id)  # nothing listens there


@pytest.mark.parametrize(
    ("call", "maybe_done", "authorized"),
    [
        # no answer in time: payment authorizes after checkout gave up
        (stalled(reset=False), True, True),
        (stalled(reset=True), True, True),  # the request went, the answer never came
        (paying(fault=500), True, False),
        (paying(fault=502), True, False),
        (paying(answer=VoidedPayment), True, True),  # authorized, but unreadable to checkout
        (refused, False, False),  # never reached payment
        (paying(fault=503), False, False),
        (paying(card_token="tok_declined"), False, False),  # card declined
        (paying(amount=-1), False, False),  # 422
    ],
    ids=["timeout", "reset", "500", "502", "unreadable-200", "refused", "503", "402", "422"],
)
async def test_a_payment_call_that_may_have_authorized_says_so(
    stack: Stack, client: httpx.AsyncClient, call: Call, maybe_done: bool, authorized: bool
) -> None:
    """Only a call that got no answer after it was sent, a 5xx that is not payment's 503 (it
    answers 503 only when it recorded nothing), or a success checkout cannot read leaves an
    authorization possible: checkout voids those orders by their id (routes.py). Whatever
    else fails, payment holds no authorization for the order."""
    order_id = new_id("ord")
    with pytest.raises(DownstreamError) as failed:
        await call(stack, client, order_id)
    assert failed.value.maybe_done is maybe_done

    async def held() -> bool:
        return await authorizations(stack, order_id) == (["authorized"] if authorized else [])

    await eventually(held, within=10, what="payment's authorizations for the order", every=0.05)


@pytest.mark.parametrize(
    ("answered", "note"),
    [(True, None), (False, NOTHING_FOR_ORDER)],
    ids=["payment-had-authorized", "payment-had-nothing"],
)
async def test_an_order_without_a_payment_id_is_voided_by_its_order_id(
    stack: Stack, ledger: VoidLedger, client: httpx.AsyncClient, answered: bool, note: str | None
) -> None:
    """No payment id: checkout voids the order; the ledger learns the payment payment voided,
    or notes that payment had none, and payment refuses any later authorization for it."""
    order_id = new_id("ord")
    payment_id = await authorize(client, order_id) if answered else None
    async with recorded(stack.payment.url) as (payment, paths):
        compensator = Compensator(payment=payment, ledger=ledger, policy=POLICY)
        outcome = await compensator.void_after_failure(
            order_id=order_id, payment_id=None, reason="payment: did not answer within 2s"
        )
    assert (outcome.id, outcome.status) == (None, "voided")
    assert paths == [f"/payment/orders/{order_id}/void"]
    row = await void_row(stack, order_id)
    assert (row["status"], row["payment_id"], row["last_error"]) == ("voided", payment_id, note)
    assert await authorizations(stack, order_id) == (["voided"] if answered else [])
    late = await client.post("/payment", json=payment_of(order_id))
    assert late.status_code == 409, late.text


@pytest.mark.parametrize(
    ("path", "outcome"),
    [
        ("", "voided"),
        ("/v2", "void_pending"),  # not payment's answer: its "Not Found" of a wrong URL
        # payment's 404 for another payment: a misrouted call (a query left in the URL)
        ("/payment/pay_other/void?misrouted=", "void_pending"),
    ],
    ids=["payment-has-no-such-authorization", "some-other-404", "another-payment"],
)
async def test_a_void_of_a_payment_that_payment_no_longer_has_is_done(
    stack: Stack, ledger: VoidLedger, caplog: pytest.LogCaptureFixture, path: str, outcome: str
) -> None:
    """Payment deletes authorizations past its retention (their hold has lapsed): its 404
    for this very payment means nothing is left to void, so the void is done, with a warning
    and the reason kept in the ledger. Any other 404 is retried like a failure."""
    caplog.set_level(logging.INFO, logger="checkout.compensation")
    order_id, payment_id = new_id("ord"), new_id("pay_gone")
    async with recorded(stack.payment.url + path) as (payment, _):
        compensator = Compensator(payment=payment, ledger=ledger, policy=POLICY)
        result = await compensator.void_after_failure(
            order_id=order_id, payment_id=payment_id, reason="inventory: sold out"
        )
    assert result.status == outcome
    row = await void_row(stack, order_id)
    if outcome == "voided":
        assert (row["status"], row["last_error"]) == ("voided", UNKNOWN_TO_PAYMENT)
        [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert warning.getMessage().startswith(
            f"payment {payment_id} of failed order {order_id} is unknown to payment (HTTP 404"
        )
        assert "nothing is left to void" in warning.getMessage()
    else:
        assert (row["status"], row["attempts"]) == ("pending", 1)
        assert "payment failed with HTTP 404" in row["last_error"]


async def test_a_void_not_even_the_ledger_can_take_is_held_until_it_can(
    stack: Stack, ledger: VoidLedger, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Payment and checkout's database both down (their PostgreSQL stopped): the void is
    held in memory, written to the ledger once the database is back, and done from there
    once payment is (it refuses voids a while longer: a chaos 503)."""
    caplog.set_level(logging.WARNING, logger="checkout.compensation")
    order_id = new_id("ord")
    payment_id = await authorize(client, order_id)
    async with recorded(stack.payment.url) as (payment, paths):
        compensator = Compensator(payment=payment, ledger=ledger, policy=POLICY)
        stack.postgres.stop()
        try:
            outcome = await compensator.void_after_failure(
                order_id=order_id, payment_id=payment_id, reason="inventory: sold out"
            )
            assert outcome.status == "void_pending"
            refused = "payment failed with HTTP 503: payment database unavailable"
            assert any(refused in r.getMessage() for r in caplog.records)  # its own 503
            status = await compensator.status()
            assert status.startswith("unknown: "), status
            assert status.endswith("; 1 held in memory"), status
            await inject(client, "error", endpoint=VOID, status=503)
            async with compensator.retrying():
                await asyncio.to_thread(stack.postgres.start)

                async def failed_in_ledger() -> bool:
                    return await compensator.status() == "1 pending"

                await eventually(failed_in_ledger, within=30, what="the void in the ledger")
                row = await void_row(stack, order_id)
                assert (row["status"], row["payment_id"]) == ("pending", payment_id)
                assert row["attempts"] >= 1
                assert "HTTP 503" in row["last_error"]
                assert await authorizations(stack, order_id) == ["authorized"]
                await client.delete("/simulate", headers=AUTH)

                async def voided() -> bool:
                    status: str = (await void_row(stack, order_id))["status"]
                    return status == "voided"

                await eventually(voided, within=30, what="the void done from the ledger")
        finally:
            stack.postgres.start()
    assert await compensator.status() == "ok"
    assert await authorizations(stack, order_id) == ["voided"]
    assert set(paths) == {f"/payment/{payment_id}/void"}
