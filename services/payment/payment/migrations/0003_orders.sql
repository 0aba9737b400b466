-- Orders. A caller (checkout) names the order a payment is for: payment authorizes at most
-- one payment per order, and an order can be voided by its id when the caller never learnt
-- the payment's (its call timed out): POST /payment/orders/{order_id}/void voids the
-- order's authorization, and its row here (a tombstone) refuses any later one, so an
-- authorization that arrives after the caller gave up never holds money. Both run
-- SERIALIZABLE, so the two cannot interleave (payment/orders.py).
ALTER TABLE payment_authorizations ADD COLUMN IF NOT EXISTS order_id text;
-- NULLs are distinct: payments without an order are not constrained.
CREATE UNIQUE INDEX IF NOT EXISTS payment_authorizations_order
    ON payment_authorizations (order_id);

CREATE TABLE IF NOT EXISTS payment_order_voids (
    order_id  text        PRIMARY KEY,
    trace_id  text,        -- the request that voided it (checkout's failed order's trace)
    voided_at timestamptz NOT NULL DEFAULT now()
);
-- Retention (payment/retention.py) deletes them by age, like the authorizations.
CREATE INDEX IF NOT EXISTS payment_order_voids_voided ON payment_order_voids (voided_at);
