"""Reading what the services wrote to `telemetry`, waiting for the sink to flush."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg


async def wait_for_rows(
    conn: asyncpg.Connection, where: str, *args: Any, count: int, timeout: float = 15.0
) -> list[asyncpg.Record]:
    """The telemetry rows matching `where`, once at least `count` of them have arrived."""
    deadline = time.monotonic() + timeout
    while True:
        rows: list[asyncpg.Record] = await conn.fetch(
            f'SELECT * FROM telemetry WHERE {where} ORDER BY "timestamp"', *args
        )
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.1)
