"""A simulated day of the shop's spans, made in PostgreSQL and bulk-loaded as a partition, for
the thirty-day section (L) and the partition-span section (M)."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

# One checkout trace per row of the series: (span, parent, service, endpoint, method, kind,
# callee, ms after the root starts, typical latency ms).
_GENERATE_SQL = """
INSERT INTO {table} (
    "timestamp", service_name, endpoint, method, status_code, latency_ms,
    error_message, trace_id, span_id, parent_span_id, kind, peer_service, error_kind)
SELECT
    c.at + s.offset_ms * interval '1 millisecond',
    s.service, s.endpoint, s.method,
    CASE WHEN s.method = 'SQL' THEN NULL WHEN c.failed THEN 500 ELSE 200 END,
    s.typical_ms * (0.5 + random()),
    NULL,
    c.trace_id,
    substr(c.trace_id, 1, 12) || s.n,
    CASE WHEN s.parent IS NULL THEN NULL ELSE substr(c.trace_id, 1, 12) || s.parent END,
    s.kind, s.callee, NULL
FROM (
    SELECT $1::timestamptz + g * $2::interval AS at,
           md5(g::text || $1::text) AS trace_id,
           random() < 0.01 AS failed
    FROM generate_series(0, $3::bigint - 1) AS g
) AS c
CROSS JOIN (VALUES
    ('0000', NULL, 'checkout', '/checkout', 'POST', 'server', NULL, 0, 60.0),
    ('0001', '0000', 'checkout', '/payment', 'POST', 'client', 'payment', 1, 25.0),
    ('0002', '0001', 'payment', '/payment', 'POST', 'server', NULL, 2, 22.0),
    ('0003', '0000', 'checkout', '/inventory/reserve', 'POST', 'client', 'inventory', 30, 20.0),
    ('0004', '0003', 'inventory', '/inventory/reserve', 'POST', 'server', NULL, 31, 18.0),
    ('0005', '0004', 'inventory', 'UPDATE inventory_stock', 'SQL', 'client', 'postgres', 32, 3.0)
) AS s (n, parent, service, endpoint, method, kind, callee, offset_ms, typical_ms)
"""


async def load_partition(
    conn: asyncpg.Connection, name: str, start: datetime, end: datetime, rate: float
) -> None:
    """`[start, end)`'s spans as a bulk load: a table of its own, filled, attached as the
    partition `name` (building its indexes), vacuumed."""
    await conn.execute(f"DROP TABLE IF EXISTS {name}")  # the empty one created ahead
    await conn.execute(
        f"CREATE TABLE {name} (LIKE telemetry INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )
    checkouts = int((end - start).total_seconds() * rate)
    await conn.execute(
        _GENERATE_SQL.format(table=name), start, timedelta(seconds=1 / rate), checkouts
    )
    lower, upper = start.isoformat(), end.isoformat()
    # A valid CHECK matching the bounds spares ATTACH its scan of the rows.
    await conn.execute(
        f"ALTER TABLE {name} ADD CONSTRAINT {name}_range "
        f"CHECK (\"timestamp\" >= '{lower}' AND \"timestamp\" < '{upper}')"
    )
    await conn.execute(
        f"ALTER TABLE telemetry ATTACH PARTITION {name} FOR VALUES FROM ('{lower}') TO ('{upper}')"
    )
    await conn.execute(f"ALTER TABLE {name} DROP CONSTRAINT {name}_range")
    # What autovacuum does to a table this size within the minute: done now, so it does not
    # run beside the measurements.
    await conn.execute(f"VACUUM ANALYZE {name}")
