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

Voided orders (`payment_order_voids`, orders.py) go after the same retention: a
voided order refuses an authorization that was still on its way when it was voided,
which is seconds late, never days.
"""

from __future__ import annotations

import logging

from aiops_telemetry import Database
from aiops_telemetry.retention import DEFAULT_BATCH_SIZE, RetentionTask

from .settings import PaymentSettings

logger = logging.getLogger("payment.retention")

# One batch: the oldest rows before $1, at most $2 of them (by the time index of each
# table), skipping rows a void or another replica holds.
DELETE_AUTHORIZATIONS = """
DELETE FROM payment_authorizations WHERE id IN (
    SELECT id FROM payment_authorizations WHERE created_at < $1
    ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED
)
"""
DELETE_ORDER_VOIDS = """
DELETE FROM payment_order_voids WHERE order_id IN (
    SELECT order_id FROM payment_order_voids WHERE voided_at < $1
    ORDER BY voided_at LIMIT $2 FOR UPDATE SKIP LOCKED
)
"""


def retention_task(
    db: Database, settings: PaymentSettings, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> RetentionTask:
    """The task deleting authorizations and voided orders past `AIOPS_PAYMENT_RETENTION`."""
    return RetentionTask.deleting(
        db,
        DELETE_AUTHORIZATIONS,
        DELETE_ORDER_VOIDS,
        what="payment authorizations and voided orders",
        keep=settings.payment_retention,
        interval_s=settings.payment_retention_interval,
        batch_size=batch_size,
        logger=logger,
    )
