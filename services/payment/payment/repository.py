"""Authorizations in PostgreSQL: taken, voided (idempotently), never lost."""

from __future__ import annotations

import uuid
from decimal import Decimal

import asyncpg
from asyncpg.pool import PoolAcquireContext

from aiops_api.shop import PaymentRequest, PaymentResponse, VoidedPayment


class UnknownPayment(LookupError):
    def __init__(self, payment_id: str) -> None:
        super().__init__(f"unknown payment {payment_id!r}")
        self.payment_id = payment_id


class PaymentDatabase:
    """The pool, and how long a request may wait for one of its connections.

    A bounded wait turns a saturated or stalled database into a prompt 503
    instead of requests piling up behind `pool.acquire()`.
    """

    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float) -> None:
        self.pool = pool
        self.acquire_timeout = acquire_timeout

    def connection(self) -> PoolAcquireContext:
        return self.pool.acquire(timeout=self.acquire_timeout)


async def authorize(
    db: PaymentDatabase, payment: PaymentRequest, *, trace_id: str | None
) -> PaymentResponse:
    """Record an authorization of `payment`; it holds until voided."""
    payment_id = f"pay_{uuid.uuid4().hex[:16]}"
    async with db.connection() as conn:
        await conn.execute(
            "INSERT INTO payment_authorizations (id, amount, currency, trace_id) "
            "VALUES ($1, $2, $3, $4)",
            payment_id,
            Decimal(str(payment.amount)),  # exactly the amount as sent, not its binary float
            payment.currency,
            trace_id,
        )
    return PaymentResponse(
        payment_id=payment_id,
        status="authorized",
        amount=payment.amount,
        currency=payment.currency,
    )


async def void(db: PaymentDatabase, payment_id: str) -> VoidedPayment:
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
