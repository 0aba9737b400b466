-- Retention (payment/retention.py) deletes authorizations by age, oldest first,
-- in small batches: each batch reads this index instead of the whole table.
-- A plain CREATE INDEX (migrations run in a transaction): it blocks writes to the
-- table while it builds, which is brief at the size a table with retention keeps.
CREATE INDEX IF NOT EXISTS payment_authorizations_created
    ON payment_authorizations (created_at);
