"""The ledger of payments checkout must void, in PostgreSQL (`checkout_payment_voids`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
from asyncpg.pool import PoolAcquireContext

from aiops_api.shop import PaymentVoid, VoidStatus
from aiops_telemetry import Telemetry, apply_migrations


@dataclass(frozen=True, slots=True)
class PendingVoid:
    """A payment to void, and what a retry needs: the failed order's trace and its span."""

    payment_id: str
    order_id: str
    trace_id: str | None
    parent_span_id: str | None
    reason: str
    attempts: int = 0
    last_error: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class VoidLedger:
    """Reads and writes of `checkout_payment_voids`; every wait on the pool is bounded."""

    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float) -> None:
        self.pool = pool
        self.acquire_timeout = acquire_timeout

    def _connection(self) -> PoolAcquireContext:
        return self.pool.acquire(timeout=self.acquire_timeout)

    async def open(self, void: PendingVoid, *, due_in_s: float) -> None:
        """Record a void to do; the retrier takes it up `due_in_s` from now if still pending."""
        async with self._connection() as conn:
            await conn.execute(
                "INSERT INTO checkout_payment_voids (payment_id, order_id, trace_id, "
                "parent_span_id, reason, attempts, last_error, created_at, next_attempt_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9)) "
                "ON CONFLICT (payment_id) DO NOTHING",
                void.payment_id,
                void.order_id,
                void.trace_id,
                void.parent_span_id,
                void.reason,
                void.attempts,
                void.last_error,
                void.created_at,
                due_in_s,
            )

    async def voided(self, payment_id: str, *, note: str | None = None) -> None:
        """The void is done; `note` (kept as `last_error`) says how, when not plainly."""
        async with self._connection() as conn:
            await conn.execute(
                "UPDATE checkout_payment_voids SET status = 'voided', voided_at = now(), "
                "attempts = attempts + 1, last_error = coalesce($2, last_error) "
                "WHERE payment_id = $1 AND status = 'pending'",
                payment_id,
                note,
            )

    async def failed(self, payment_id: str, error: str, *, retry_in_s: float) -> None:
        async with self._connection() as conn:
            await conn.execute(
                "UPDATE checkout_payment_voids SET attempts = attempts + 1, last_error = $2, "
                "next_attempt_at = now() + make_interval(secs => $3) "
                "WHERE payment_id = $1 AND status = 'pending'",
                payment_id,
                error,
                retry_in_s,
            )

    async def claim_due(self, *, limit: int, lease_s: float) -> list[PendingVoid]:
        """Pending voids that are due, each leased for `lease_s`: checkout replicas share
        the table, and a void one of them is trying is not due for the others."""
        async with self._connection() as conn:
            rows = await conn.fetch(
                "UPDATE checkout_payment_voids "
                "SET next_attempt_at = now() + make_interval(secs => $2) "
                "WHERE payment_id IN (SELECT payment_id FROM checkout_payment_voids "
                "  WHERE status = 'pending' AND next_attempt_at <= now() "
                "  ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) "
                "RETURNING payment_id, order_id, trace_id, parent_span_id, reason, attempts, "
                "last_error, created_at",
                limit,
                lease_s,
            )
        return [PendingVoid(**dict(row)) for row in rows]

    async def pending_count(self) -> int:
        async with self._connection() as conn:
            count: int = await conn.fetchval(
                "SELECT count(*) FROM checkout_payment_voids WHERE status = 'pending'"
            )
        return count

    async def listing(self, *, status: VoidStatus | None, limit: int) -> list[PaymentVoid]:
        """The newest voids first, of one status or both."""
        async with self._connection() as conn:
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


@asynccontextmanager
async def open_ledger(
    telemetry: Telemetry, *, pool_size: int, timeout: float
) -> AsyncIterator[VoidLedger]:
    """The ledger on a pool of its own (its queries traced), migrated; closed on exit."""
    pool = await telemetry.create_pool(
        min_size=1, max_size=pool_size, command_timeout=timeout, timeout=timeout
    )
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn, component="checkout", package="checkout")
        yield VoidLedger(pool, acquire_timeout=timeout)
    finally:
        await asyncio.wait_for(pool.close(), 10)
