"""Steady checkouts in the background while a test looks at what the analyzer makes of them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

ORDER: Mapping[str, Any] = {
    "items": [{"sku": "SKU-002", "quantity": 1}],
    "amount": 5.0,
    "currency": "USD",
}


@contextlib.asynccontextmanager
async def checkouts(
    checkout_url: str, *, per_second: float = 25, order: Mapping[str, Any] = ORDER
) -> AsyncIterator[list[int]]:
    """Open-loop checkouts at `per_second` until the block ends; yields the statuses seen
    (0 for a request that got no answer)."""
    statuses: list[int] = []

    async def send(client: httpx.AsyncClient) -> None:
        try:
            response = await client.post(f"{checkout_url}/checkout", json=order)
        except httpx.HTTPError:
            statuses.append(0)
        else:
            statuses.append(response.status_code)

    async def run() -> None:
        async with httpx.AsyncClient(timeout=10) as client, asyncio.TaskGroup() as group:
            while True:
                group.create_task(send(client))
                await asyncio.sleep(1 / per_second)

    task = asyncio.create_task(run())
    try:
        yield statuses
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
