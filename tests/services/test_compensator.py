"""The compensator on its own: an in-memory ledger that can be down, and a mock payment.

What checkout voids, and how: which failures of the payment call leave an order to void
by its id, a void held in memory while the ledger is down, a payment that payment no
longer has. The real shop, processes and PostgreSQL, is in test_compensation.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

import httpx
import pytest

from aiops_api.shop import PaymentResponse
from checkout.compensation import Compensator, RetryPolicy
from checkout.downstream import DownstreamError, post_json
from checkout.payment_void import NOTHING_FOR_ORDER, UNKNOWN_TO_PAYMENT
from checkout.voids import PendingVoid, VoidLedger
from tests.support.polling import eventually

POLICY = RetryPolicy(interval_s=0.01, initial_s=0.01, max_s=0.05, batch_size=10, lease_s=1)


class FakeLedger(VoidLedger):
    """A ledger in a dict that can be down (every call raises, as a stopped PostgreSQL)."""

    def __init__(self) -> None:
        self.up = False
        self.rows: dict[str, PendingVoid] = {}  # by order
        self.done: set[str] = set()
        self.notes: dict[str, str] = {}
        self.payments: dict[str, str | None] = {}  # the payment each done void names

    def _check(self) -> None:
        if not self.up:
            raise ConnectionRefusedError("database down")

    async def open(self, void: PendingVoid, *, due_in_s: float) -> None:
        self._check()
        self.rows.setdefault(void.order_id, void)

    async def voided(
        self, order_id: str, *, note: str | None = None, payment_id: str | None = None
    ) -> None:
        self._check()
        self.done.add(order_id)
        self.payments[order_id] = payment_id
        if note is not None:
            self.notes[order_id] = note

    async def failed(self, order_id: str, error: str, *, retry_in_s: float) -> None:
        self._check()
        void = self.rows[order_id]
        self.rows[order_id] = replace(void, attempts=void.attempts + 1, last_error=error)

    async def claim_due(self, *, limit: int, lease_s: float) -> list[PendingVoid]:
        self._check()
        return [v for order, v in self.rows.items() if order not in self.done][:limit]

    async def pending_count(self, *, failed_only: bool = False) -> int:
        self._check()
        pending = [self.rows[order] for order in self.rows.keys() - self.done]
        return sum(1 for v in pending if v.attempts > 0 or not failed_only)


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
    transport = httpx.MockTransport(payment)
    async with httpx.AsyncClient(transport=transport, base_url="http://payment") as client:
        compensator = Compensator(payment=client, ledger=ledger, policy=POLICY)
        outcome = await compensator.void_after_failure(
            order_id="ord_held", payment_id="pay_held", reason="inventory: sold out"
        )
        assert outcome.status == "void_pending"
        assert await compensator.status() == "unknown: ConnectionRefusedError; 1 held in memory"
        async with compensator.retrying():
            ledger.up = True

            async def recorded() -> bool:
                return "ord_held" in ledger.rows

            await eventually(recorded, within=10, what="the held void in the ledger", every=0.01)
            assert ledger.rows["ord_held"].attempts >= 1
            assert "HTTP 503" in (ledger.rows["ord_held"].last_error or "")
            assert await compensator.status() == "1 pending"
            payment_up = True

            async def done() -> bool:
                return "ord_held" in ledger.done

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
    transport = httpx.MockTransport(payment)
    async with httpx.AsyncClient(transport=transport, base_url="http://payment") as client:
        compensator = Compensator(payment=client, ledger=ledger, policy=POLICY)
        result = await compensator.void_after_failure(
            order_id="ord_gone", payment_id="pay_gone", reason="inventory: sold out"
        )
    assert result.status == outcome
    if outcome == "voided":
        assert ledger.notes == {"ord_gone": UNKNOWN_TO_PAYMENT}
        [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert warning.getMessage().startswith(
            "payment pay_gone of failed order ord_gone is unknown to payment (HTTP 404"
        )
        assert "nothing is left to void" in warning.getMessage()
    else:
        assert ledger.done == set()
        assert "payment failed with HTTP 404" in (ledger.rows["ord_gone"].last_error or "")


def refused() -> httpx.Response:
    raise httpx.ConnectError("connection refused") from ConnectionRefusedError()


def timed_out() -> httpx.Response:
    raise httpx.ReadTimeout("timed out")


def reset() -> httpx.Response:
    raise httpx.RemoteProtocolError("Server disconnected without sending a response.")


def answer(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body)


@pytest.mark.parametrize(
    ("payment", "maybe_done"),
    [
        (timed_out, True),  # no answer in time: payment may authorize after checkout gave up
        (reset, True),  # the request went, the answer never came
        (lambda: answer(500, {"detail": "boom"}), True),
        (lambda: answer(502, {"detail": "bad gateway"}), True),
        (lambda: answer(200, {"unexpected": True}), True),  # authorized, perhaps: unreadable
        (refused, False),  # never reached payment
        (lambda: answer(503, {"detail": "payment database unavailable"}), False),
        (lambda: answer(402, {"detail": "card declined"}), False),
        (lambda: answer(422, {"detail": []}), False),
    ],
    ids=["timeout", "reset", "500", "502", "unreadable-200", "refused", "503", "402", "422"],
)
async def test_a_payment_call_that_may_have_authorized_says_so(
    payment: Callable[[], httpx.Response], maybe_done: bool
) -> None:
    """Only a call that got no answer after it was sent, a 5xx that is not payment's 503 (it
    answers 503 only when it recorded nothing), or a success checkout cannot read leaves an
    authorization possible: checkout voids those orders by their id (routes.py)."""
    transport = httpx.MockTransport(lambda request: payment())
    async with httpx.AsyncClient(transport=transport, base_url="http://payment") as client:
        with pytest.raises(DownstreamError) as failed:
            await post_json(
                client, "payment", "/payment", {"amount": 1}, answer=PaymentResponse,
                passed_through={402},
            )  # fmt: skip
    assert failed.value.maybe_done is maybe_done


@pytest.mark.parametrize(
    ("answered_payment", "note"),
    [("pay_late", None), (None, NOTHING_FOR_ORDER)],
    ids=["payment-had-authorized", "payment-had-nothing"],
)
async def test_an_order_without_a_payment_id_is_voided_by_its_order_id(
    answered_payment: str | None, note: str | None
) -> None:
    """No payment id: checkout voids the order; the ledger learns the payment payment voided,
    or notes that payment had none (it refuses any later authorization for the order)."""
    calls: list[str] = []

    def payment(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(
            200,
            json={
                "order_id": "ord_lost",
                "status": "voided",
                "payment_id": answered_payment,
                "voided_at": "2025-01-01T00:00:00Z",
            },
        )

    ledger = FakeLedger()
    ledger.up = True
    transport = httpx.MockTransport(payment)
    async with httpx.AsyncClient(transport=transport, base_url="http://payment") as client:
        compensator = Compensator(payment=client, ledger=ledger, policy=POLICY)
        outcome = await compensator.void_after_failure(
            order_id="ord_lost", payment_id=None, reason="payment: did not answer within 2s"
        )
    assert (outcome.id, outcome.status) == (None, "voided")
    assert calls == ["/payment/orders/ord_lost/void"]
    assert ledger.rows["ord_lost"].payment_id is None
    assert ledger.payments == {"ord_lost": answered_payment}
    assert ledger.notes.get("ord_lost") == note
