-- Payment authorizations. An authorization holds the amount until it is voided
-- (checkout voids it when the order fails after payment); a void is final.
CREATE TABLE IF NOT EXISTS payment_authorizations (
    id         text        PRIMARY KEY,
    status     text        NOT NULL DEFAULT 'authorized' CHECK (status IN ('authorized', 'voided')),
    amount     numeric     NOT NULL CHECK (amount > 0),
    currency   text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    trace_id   text,
    created_at timestamptz NOT NULL DEFAULT now(),
    voided_at  timestamptz,
    CHECK ((status = 'voided') = (voided_at IS NOT NULL))
);
