"""Retention of the void ledger: a done void (`voided`) is deleted once it was done longer
ago than `AIOPS_VOID_RETENTION` (7 days by default). A pending void is never deleted,
whatever its age: it is a payment still to void, and the retrier needs its row."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from aiops_telemetry.retention import DEFAULT_BATCH_SIZE, RetentionTask, delete_in_batches

from .settings import CheckoutSettings
from .voids import VoidLedger

logger = logging.getLogger("checkout.retention")

# One batch: the voids done before $1, oldest first, at most $2 of them (partial
# index checkout_payment_voids_done), skipping rows another replica is deleting.
_DELETE_BATCH = """
DELETE FROM checkout_payment_voids WHERE payment_id IN (
    SELECT payment_id FROM checkout_payment_voids
    WHERE status = 'voided' AND voided_at < $1
    ORDER BY voided_at LIMIT $2 FOR UPDATE SKIP LOCKED
)
"""


async def delete_done_voids(
    ledger: VoidLedger,
    before: datetime,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    stop: asyncio.Event | None = None,
) -> int:
    """Delete the voids done before `before`, in batches; how many went."""
    return await delete_in_batches(
        ledger.pool,
        _DELETE_BATCH,
        before,
        batch_size=batch_size,
        stop=stop,
        acquire_timeout=ledger.acquire_timeout,
    )


def retention_task(ledger: VoidLedger, settings: CheckoutSettings) -> RetentionTask:
    async def purge(before: datetime, stop: asyncio.Event) -> int:
        return await delete_done_voids(ledger, before, stop=stop)

    return RetentionTask(
        purge,
        what="done payment voids",
        keep=settings.void_retention,
        interval_s=settings.void_retention_interval,
        logger=logger,
    )
