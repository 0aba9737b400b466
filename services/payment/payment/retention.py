"""Retention of payment authorizations: every one older than `AIOPS_PAYMENT_RETENTION`
(7 days by default) is deleted, whether it is still `authorized` or was voided.

Why the `authorized` ones too. Card networks let an authorization hold its amount for
a few days (about seven for most online merchants) and then the issuer releases the
hold by itself: past the retention an authorization has lapsed and there is nothing
left to void. Keeping authorized rows "until voided" would keep them forever, as most
are the payments of orders that succeeded (this shop has no capture step to end
them), and 2x the retention would only move the same question a week later. So a
late void of a deleted authorization gets 404 (unknown payment), and checkout takes
that answer as "nothing left to void": it records the void as done, with a warning
(checkout/payment_void.py). A void checkout could not deliver within the retention
(it or payment down that long) ends the same way: by then the hold has lapsed. The
floor of an hour keeps a slip (`7m` for `7d`) from deleting orders still in flight;
a retention shorter than the hold (under 7d) would let a very late void find nothing
while the issuer still holds the amount, until the hold lapses by itself.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from aiops_telemetry.retention import DEFAULT_BATCH_SIZE, RetentionTask, delete_in_batches

from .repository import PaymentDatabase
from .settings import PaymentSettings

logger = logging.getLogger("payment.retention")

# One batch: the oldest authorizations before $1, at most $2 of them (index
# payment_authorizations_created), skipping rows a void or another replica holds.
_DELETE_BATCH = """
DELETE FROM payment_authorizations WHERE id IN (
    SELECT id FROM payment_authorizations WHERE created_at < $1
    ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED
)
"""


async def delete_authorizations(
    db: PaymentDatabase,
    before: datetime,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    stop: asyncio.Event | None = None,
) -> int:
    """Delete the authorizations created before `before`, in batches; how many went."""
    return await delete_in_batches(
        db.pool,
        _DELETE_BATCH,
        before,
        batch_size=batch_size,
        stop=stop,
        acquire_timeout=db.acquire_timeout,
    )


def retention_task(db: PaymentDatabase, settings: PaymentSettings) -> RetentionTask:
    async def purge(before: datetime, stop: asyncio.Event) -> int:
        return await delete_authorizations(db, before, stop=stop)

    return RetentionTask(
        purge,
        what="payment authorizations",
        keep=settings.payment_retention,
        interval_s=settings.payment_retention_interval,
        logger=logger,
    )
