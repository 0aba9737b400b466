"""Retention of the void ledger: a done void (`voided`) is deleted once it was done longer
ago than `AIOPS_VOID_RETENTION` (7 days by default). A pending void is never deleted,
whatever its age: it is a payment still to void, and the retrier needs its row."""

from __future__ import annotations

import logging

from aiops_telemetry import Database
from aiops_telemetry.retention import DEFAULT_BATCH_SIZE, RetentionTask

from .settings import CheckoutSettings

logger = logging.getLogger("checkout.retention")

# One batch: the voids done before $1, oldest first, at most $2 of them (partial
# index checkout_payment_voids_done), skipping rows another replica is deleting.
DELETE_DONE_VOIDS = """
DELETE FROM checkout_payment_voids WHERE order_id IN (
    SELECT order_id FROM checkout_payment_voids
    WHERE status = 'voided' AND voided_at < $1
    ORDER BY voided_at LIMIT $2 FOR UPDATE SKIP LOCKED
)
"""


def retention_task(
    db: Database, settings: CheckoutSettings, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> RetentionTask:
    """The task deleting the voids done longer ago than `AIOPS_VOID_RETENTION`."""
    return RetentionTask.deleting(
        db,
        DELETE_DONE_VOIDS,
        what="done payment voids",
        keep=settings.void_retention,
        interval_s=settings.void_retention_interval,
        batch_size=batch_size,
        logger=logger,
    )
