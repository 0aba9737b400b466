-- Stock for the shop. Seeded with enough units that long load tests never
-- run out (a reservation takes a handful at a time).
CREATE TABLE IF NOT EXISTS inventory_stock (
    sku        text           PRIMARY KEY,
    name       text           NOT NULL,
    unit_price numeric(10, 2) NOT NULL CHECK (unit_price >= 0),
    quantity   bigint         NOT NULL CHECK (quantity >= 0),
    updated_at timestamptz    NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS inventory_reservations (
    id         text        PRIMARY KEY,
    trace_id   text,
    items      jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO inventory_stock (sku, name, unit_price, quantity) VALUES
    ('SKU-001', 'Espresso beans, 1 kg', 19.99, 1000000000),
    ('SKU-002', 'Burr grinder',         89.00, 1000000000),
    ('SKU-003', 'Milk jug, 600 ml',     14.50, 1000000000),
    ('SKU-004', 'Paper filters (100)',   4.25, 1000000000),
    ('SKU-005', 'Limited-edition mug',  24.00, 25)
ON CONFLICT (sku) DO NOTHING;
