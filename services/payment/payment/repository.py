"""Authorizations in PostgreSQL: taken (at most one per order), voided (idempotently), never lost.

An authorization's fate must be known to whoever voids it. So payment answers 503 only
when nothing was recorded: a failure before the authorization's transaction was
committed rolls it back. Only the COMMIT itself, when the database fails during it,
leaves the outcome unknown: that is `AuthorizationUnknown` (a 500), and a caller that
named an order voids that order to be sure (orders.py).

An authorization is one statement (one span in a checkout's trace), in a transaction of
its own: SERIALIZABLE when it names an order, so that it and the order's void cannot
interleave (orders.py).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from decimal import Decimal

from aiops_api.shop import PaymentRequest, PaymentResponse, VoidedPayment
from aiops_telemetry import DATABASE_UNAVAILABLE, Connection, Database

from .orders import SERIALIZABLE_TRIES, OrderConflict, TryAgain, serializable


class UnknownPayment(LookupError):
    def __init__(self, payment_id: str) -> None:
        super().__init__(f"unknown payment {payment_id!r}")
        self.payment_id = payment_id


class AuthorizationUnknown(Exception):
    """The database failed while committing an authorization: it may or may not be recorded."""

    def __init__(self, order_id: str | None, cause: BaseException) -> None:
        what = f"void order {order_id!r}" if order_id else "look it up by its trace id"
        super().__init__(
            f"payment database failed while recording the authorization "
            f"({type(cause).__name__}); it may be recorded: {what} to be sure"
        )
        self.order_id = order_id


# One statement for both: without an order id, NOT EXISTS holds and nothing conflicts. With
# one, nothing is inserted when the order was voided or has its authorization already.
_INSERT = """
INSERT INTO payment_authorizations (id, order_id, amount, currency, trace_id)
SELECT $1, $2::text, $3::numeric, $4, $5::text
WHERE NOT EXISTS (SELECT 1 FROM payment_order_voids WHERE order_id = $2)
ON CONFLICT (order_id) DO NOTHING
RETURNING id
"""


async def authorize(
    db: Database, payment: PaymentRequest, *, trace_id: str | None
) -> PaymentResponse:
    """Record an authorization of `payment`; it holds until voided.

    With an order id, the order's authorization is answered again when the request
    asks for the same; `OrderConflict` when the order was voided or asked for more.
    """
    payment_id = f"pay_{uuid.uuid4().hex[:16]}"
    amount = Decimal(str(payment.amount))  # exactly the amount as sent, not its binary float
    for attempt in range(1, SERIALIZABLE_TRIES + 1):
        committing = False
        try:
            async with _transaction(db, payment, attempt) as conn:
                inserted = await conn.fetchval(
                    _INSERT, payment_id, payment.order_id, amount, payment.currency, trace_id
                )
                if inserted is None:
                    return await _order_authorization(conn, payment, amount)
                committing = True  # all that is left is the COMMIT
        except TryAgain:
            continue
        except DATABASE_UNAVAILABLE as exc:
            if committing:
                raise AuthorizationUnknown(payment.order_id, exc) from exc
            raise
        return PaymentResponse(
            payment_id=payment_id,
            status="authorized",
            amount=payment.amount,
            currency=payment.currency,
            order_id=payment.order_id,
        )
    raise AssertionError("unreachable: the last try raises")  # pragma: no cover


def _transaction(
    db: Database, payment: PaymentRequest, attempt: int
) -> AbstractAsyncContextManager[Connection]:
    if payment.order_id is None:
        return _plain(db)
    return serializable(db, attempt)


@asynccontextmanager
async def _plain(db: Database) -> AsyncIterator[Connection]:
    async with db.connection() as conn, conn.transaction():
        yield conn


async def _order_authorization(
    conn: Connection, payment: PaymentRequest, amount: Decimal
) -> PaymentResponse:
    """The order's existing authorization, when it asks for the same; else `OrderConflict`."""
    order_id = payment.order_id
    assert order_id is not None
    row = await conn.fetchrow(
        "SELECT id, status, amount, currency FROM payment_authorizations WHERE order_id = $1",
        order_id,
    )
    if row is None:
        raise OrderConflict(order_id, None, f"order {order_id!r} was voided")
    if row["status"] != "authorized":
        raise OrderConflict(
            order_id, row["id"], f"order {order_id!r} was voided with its payment {row['id']!r}"
        )
    if (row["amount"], row["currency"]) != (amount, payment.currency):
        raise OrderConflict(
            order_id,
            row["id"],
            f"order {order_id!r} already has payment {row['id']!r}, "
            f"for {row['amount']} {row['currency']}",
        )
    return PaymentResponse(
        payment_id=row["id"],
        status="authorized",
        amount=payment.amount,
        currency=payment.currency,
        order_id=order_id,
    )


async def void(db: Database, payment_id: str) -> VoidedPayment:
    """Void an authorization; voiding a voided one answers the same as the first time.

    Two statements, each with a snapshot of its own: when two voids race, the
    loser's UPDATE finds the row already voided, and its SELECT sees that.
    """
    async with db.connection() as conn:
        row = await conn.fetchrow(
            "UPDATE payment_authorizations SET status = 'voided', voided_at = now() "
            "WHERE id = $1 AND status = 'authorized' "
            "RETURNING id, amount::float8 AS amount, currency, voided_at",
            payment_id,
        )
        if row is None:
            row = await conn.fetchrow(
                "SELECT id, amount::float8 AS amount, currency, voided_at "
                "FROM payment_authorizations WHERE id = $1 AND status = 'voided'",
                payment_id,
            )
    if row is None:
        raise UnknownPayment(payment_id)
    return VoidedPayment(
        payment_id=row["id"],
        status="voided",
        amount=row["amount"],
        currency=row["currency"],
        voided_at=row["voided_at"],
    )
