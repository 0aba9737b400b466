-- Voids by order. When payment did not answer the authorization (it timed out, the
-- connection broke, it failed with a 5xx), checkout knows no payment id: it voids the
-- order at payment (POST /payment/orders/{order_id}/void), which voids the order's
-- authorization if any and refuses a later one. So a row is keyed by its order (one void
-- per failed order), and payment_id is known, or learnt from payment's answer, or stays
-- NULL when payment had authorized nothing for the order.
ALTER TABLE checkout_payment_voids DROP CONSTRAINT IF EXISTS checkout_payment_voids_pkey;
ALTER TABLE checkout_payment_voids ALTER COLUMN payment_id DROP NOT NULL;
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT FROM pg_constraint WHERE conname = 'checkout_payment_voids_order_pkey'
    ) THEN
        ALTER TABLE checkout_payment_voids
            ADD CONSTRAINT checkout_payment_voids_order_pkey PRIMARY KEY (order_id);
    END IF;
END $$;
-- NULLs are distinct: any number of order voids with no payment yet.
CREATE UNIQUE INDEX IF NOT EXISTS checkout_payment_voids_payment
    ON checkout_payment_voids (payment_id);
