"""The ledger of payments checkout must void, in PostgreSQL (`checkout_payment_voids`).

One row per failed order. A void names the payment when checkout knows it (the
reservation failed after payment answered); when payment did not answer the
authorization, checkout knows no payment id and voids the order instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from aiops_api.shop import PaymentVoid, VoidStatus
from aiops_telemetry import Database


@dataclass(frozen=True, slots=True)
class PendingVoid:
    """A payment to void, and what a retry needs: the failed order's trace and its span."""

    order_id: str
    payment_id: str | None  # None: void the order (payment's answer never came)
    trace_id: str | None
    parent_span_id: str | None
    reason: str
    attempts: int = 0
    last_error: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def described(self) -> str:
        """What is voided, for the log."""
        if self.payment_id is None:
            return f"order {self.order_id} (payment did not answer its authorization)"
        return f"payment {self.payment_id} (order {self.order_id})"

    @property
    def by_hand(self) -> str:
        """The call that voids it, for an operator."""
        if self.payment_id is None:
            return f"POST /payment/orders/{self.order_id}/void"
        return f"POST /payment/{self.payment_id}/void"


class VoidLedger:
    """Reads and writes of `checkout_payment_voids`, through the service's `Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def open(self, void: PendingVoid, *, due_in_s: float) -> None:
        """Record a void to do; the retrier takes it up `due_in_s` from now if still pending."""
        async with self.db.connection() as conn:
            await conn.execute(
                "INSERT INTO checkout_payment_voids (order_id, payment_id, trace_id, "
                "parent_span_id, reason, attempts, last_error, created_at, next_attempt_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9)) "
                "ON CONFLICT (order_id) DO NOTHING",
                void.order_id,
                void.payment_id,
                void.trace_id,
                void.parent_span_id,
                void.reason,
                void.attempts,
                void.last_error,
                void.created_at,
                due_in_s,
            )

    async def voided(
        self, order_id: str, *, note: str | None = None, payment_id: str | None = None
    ) -> None:
        """The void is done; `note` (kept as `last_error`) says how, when not plainly, and
        `payment_id` is the payment an order's void voided, once payment named it."""
        async with self.db.connection() as conn:
            await conn.execute(
                "UPDATE checkout_payment_voids SET status = 'voided', voided_at = now(), "
                "attempts = attempts + 1, last_error = coalesce($2, last_error), "
                "payment_id = coalesce(payment_id, $3) "
                "WHERE order_id = $1 AND status = 'pending'",
                order_id,
                note,
                payment_id,
            )

    async def failed(self, order_id: str, error: str, *, retry_in_s: float) -> None:
        async with self.db.connection() as conn:
            await conn.execute(
                "UPDATE checkout_payment_voids SET attempts = attempts + 1, last_error = $2, "
                "next_attempt_at = now() + make_interval(secs => $3) "
                "WHERE order_id = $1 AND status = 'pending'",
                order_id,
                error,
                retry_in_s,
            )

    async def claim_due(self, *, limit: int, lease_s: float) -> list[PendingVoid]:
        """Pending voids that are due, each leased for `lease_s`: checkout replicas share
        the table, and a void one of them is trying is not due for the others."""
        async with self.db.connection() as conn:
            rows = await conn.fetch(
                "UPDATE checkout_payment_voids "
                "SET next_attempt_at = now() + make_interval(secs => $2) "
                "WHERE order_id IN (SELECT order_id FROM checkout_payment_voids "
                "  WHERE status = 'pending' AND next_attempt_at <= now() "
                "  ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) "
                "RETURNING order_id, payment_id, trace_id, parent_span_id, reason, attempts, "
                "last_error, created_at",
                limit,
                lease_s,
            )
        return [PendingVoid(**dict(row)) for row in rows]

    async def pending_count(self, *, failed_only: bool = False) -> int:
        """Voids still to do; `failed_only`: those whose first attempt already failed (not one
        being tried right now, which every failed order has for a moment)."""
        async with self.db.connection() as conn:
            count: int = await conn.fetchval(
                "SELECT count(*) FROM checkout_payment_voids "
                "WHERE status = 'pending' AND attempts >= $1",
                1 if failed_only else 0,
            )
        return count

    async def listing(self, *, status: VoidStatus | None, limit: int) -> list[PaymentVoid]:
        """The newest voids first, of one status or both."""
        async with self.db.connection() as conn:
            rows = await conn.fetch(
                "SELECT payment_id, order_id, trace_id, reason, status, attempts, last_error, "
                "next_attempt_at, created_at, voided_at FROM checkout_payment_voids "
                "WHERE $1::text IS NULL OR status = $1 ORDER BY created_at DESC LIMIT $2",
                status,
                limit,
            )
        return [_void(row) for row in rows]


def _void(row: asyncpg.Record) -> PaymentVoid:
    fields = dict(row)
    if fields["status"] == "voided":
        fields["next_attempt_at"] = None
    return PaymentVoid(**fields)
