-- Payments checkout must void: an order failed (inventory refused or did not
-- answer) after its payment was authorized. A row is written before the void
-- is tried, so a void that fails, or a checkout that dies mid-way, is retried
-- by the background retrier until payment confirms it; voided rows stay as the
-- record of what was compensated.
CREATE TABLE IF NOT EXISTS checkout_payment_voids (
    payment_id      text        PRIMARY KEY,
    order_id        text        NOT NULL,
    trace_id        text,        -- the failed checkout's trace: retries join it
    parent_span_id  text,        -- that checkout's server span, parent of retried calls
    reason          text        NOT NULL,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'voided')),
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    voided_at       timestamptz,
    CHECK ((status = 'voided') = (voided_at IS NOT NULL))
);

-- What the retrier polls: only pending rows, by when they are due.
CREATE INDEX IF NOT EXISTS checkout_payment_voids_due
    ON checkout_payment_voids (next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS checkout_payment_voids_created
    ON checkout_payment_voids (created_at DESC);
