"""Stock in PostgreSQL: reads, and reservations that never oversell."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterable

from aiops_api.shop import OrderLine, ReservedLine, StockItem
from aiops_telemetry import Database


class UnknownSku(LookupError):
    def __init__(self, sku: str) -> None:
        super().__init__(f"unknown SKU {sku!r}")
        self.sku = sku


class InsufficientStock(Exception):
    def __init__(self, sku: str, requested: int, available: int) -> None:
        super().__init__(
            f"insufficient stock for {sku!r}: requested {requested}, available {available}"
        )
        self.sku = sku
        self.requested = requested
        self.available = available


_SELECT_STOCK = "SELECT sku, name, unit_price::float8 AS unit_price, quantity FROM inventory_stock"


async def list_stock(db: Database) -> list[StockItem]:
    async with db.connection() as conn:
        rows = await conn.fetch(_SELECT_STOCK + " ORDER BY sku")
    return [StockItem(**dict(row)) for row in rows]


async def get_stock(db: Database, sku: str) -> StockItem:
    async with db.connection() as conn:
        row = await conn.fetchrow(_SELECT_STOCK + " WHERE sku = $1", sku)
    if row is None:
        raise UnknownSku(sku)
    return StockItem(**dict(row))


async def reserve(
    db: Database, lines: Iterable[OrderLine], *, trace_id: str | None
) -> tuple[str, list[ReservedLine]]:
    """Take every line's quantity from stock, all or nothing.

    Each decrement is a conditional UPDATE (`quantity >= wanted`), so
    concurrent reservations serialize on the row lock and none can oversell;
    SKUs are locked in sorted order so two multi-line reservations cannot
    deadlock.
    """
    wanted = Counter[str]()
    for requested in lines:
        wanted[requested.sku] += requested.quantity
    merged = [ReservedLine(sku=sku, quantity=qty) for sku, qty in sorted(wanted.items())]
    reservation_id = f"res_{uuid.uuid4().hex[:16]}"
    async with db.connection() as conn, conn.transaction():
        for line in merged:
            left = await conn.fetchval(
                "UPDATE inventory_stock SET quantity = quantity - $2, updated_at = now() "
                "WHERE sku = $1 AND quantity >= $2 RETURNING quantity",
                line.sku,
                line.quantity,
            )
            if left is None:
                available = await conn.fetchval(
                    "SELECT quantity FROM inventory_stock WHERE sku = $1", line.sku
                )
                if available is None:
                    raise UnknownSku(line.sku)
                raise InsufficientStock(line.sku, line.quantity, available)
        await conn.execute(
            "INSERT INTO inventory_reservations (id, trace_id, items) VALUES ($1, $2, $3::jsonb)",
            reservation_id,
            trace_id,
            json.dumps([line.model_dump() for line in merged]),
        )
    return reservation_id, merged
