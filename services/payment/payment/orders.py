"""Voiding an order: whatever payment did for it, it holds nothing for it afterwards.

A caller whose authorization call got no answer (it timed out, the connection broke,
payment failed with a 5xx) does not know whether payment authorized, nor the payment
id. It voids the order instead: payment voids the order's authorization if it has one,
and keeps the order in `payment_order_voids` (a tombstone), so that an authorization
still on its way (delayed, queued, retried) is refused when it arrives.

An order's authorization and its void run SERIALIZABLE: of two that would interleave
(each not seeing the other's row), PostgreSQL aborts one, and payment runs it again,
now seeing the other's. An authorization stays one statement (`repository.py`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import asyncpg

from aiops_api.shop import VoidedOrder
from aiops_telemetry import Connection, Database

# Tries of a serializable transaction PostgreSQL aborted for a concurrent one; each
# retry sees what the other committed, so a second one is rarely needed.
SERIALIZABLE_TRIES = 5


class OrderConflict(Exception):
    """An authorization payment refuses for its order: voided, or already paid otherwise."""

    def __init__(self, order_id: str, payment_id: str | None, reason: str) -> None:
        super().__init__(f"{reason}: payment authorizes nothing more for it")
        self.order_id = order_id
        self.payment_id = payment_id


@asynccontextmanager
async def serializable(db: Database, attempt: int) -> AsyncIterator[Connection]:
    """A SERIALIZABLE transaction; `SerializationError` on an `attempt` under the last one
    becomes `TryAgain`, for the caller to run the transaction again."""
    try:
        async with db.connection() as conn, conn.transaction(isolation="serializable"):
            yield conn
    except asyncpg.SerializationError as exc:
        if attempt < SERIALIZABLE_TRIES:
            raise TryAgain from exc
        raise


class TryAgain(Exception):
    """PostgreSQL aborted the transaction for a concurrent one: run it again."""


async def void_order(db: Database, order_id: str, *, trace_id: str | None) -> VoidedOrder:
    """Void the order's authorization, if any, and refuse any later one. Idempotent: a
    second void answers the same (the order's first `voided_at`)."""
    for attempt in range(1, SERIALIZABLE_TRIES + 1):
        try:
            async with serializable(db, attempt) as conn:
                voided_at: datetime = await conn.fetchval(
                    "INSERT INTO payment_order_voids AS v (order_id, trace_id) VALUES ($1, $2) "
                    "ON CONFLICT (order_id) DO UPDATE SET voided_at = v.voided_at "
                    "RETURNING voided_at",
                    order_id,
                    trace_id,
                )
                payment_id: str | None = await conn.fetchval(
                    "UPDATE payment_authorizations SET status = 'voided', "
                    "voided_at = coalesce(voided_at, now()) WHERE order_id = $1 RETURNING id",
                    order_id,
                )
        except TryAgain:
            continue
        return VoidedOrder(
            order_id=order_id, status="voided", payment_id=payment_id, voided_at=voided_at
        )
    raise AssertionError("unreachable: the last try raises")  # pragma: no cover
