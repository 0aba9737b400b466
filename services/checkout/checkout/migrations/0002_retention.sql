-- Retention (checkout/retention.py) deletes done voids by when they were done,
-- oldest first, in small batches; pending voids are never deleted, and are not
-- in this index.
CREATE INDEX IF NOT EXISTS checkout_payment_voids_done
    ON checkout_payment_voids (voided_at) WHERE status = 'voided';
