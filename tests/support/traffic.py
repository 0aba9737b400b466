"""Steady requests in the background while a test looks at what the stack makes of them."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from typing import Any

import anyio
import httpx

ORDER: Mapping[str, Any] = {
    "items": [{"sku": "SKU-002", "quantity": 1}],
    "amount": 5.0,
    "currency": "USD",
}
PAYMENT: Mapping[str, Any] = {"amount": 5, "currency": "USD"}
# One order per SKU with ample stock. Reservations of one SKU serialize on its row lock,
# so orders that arrive together (behind a jittery callee, or a CPU-starved caller) queue
# there and make inventory slow by itself; spread over rows, they rarely meet.
SPREAD_ORDERS: Sequence[Mapping[str, Any]] = tuple(
    {**ORDER, "items": [{"sku": sku, "quantity": 1}]}
    for sku in ("SKU-001", "SKU-002", "SKU-003", "SKU-004")
)

# Idle connections expire before uvicorn's 5 s keep-alive closes them, as the services'
# own clients do: reusing one just as the server closes it fails with a disconnect.
LIMITS = httpx.Limits(keepalive_expiry=2.0)


@contextlib.asynccontextmanager
async def open_loop(
    send: Callable[[httpx.AsyncClient, int], Coroutine[Any, Any, None]], *, per_second: float
) -> AsyncIterator[None]:
    """`send(client, n)` for n = 0, 1, … started every 1/`per_second` s until the block ends,
    each on its own: open loop, so a slow answer does not slow the arrivals."""

    # Stopped through an anyio scope, not task.cancel(): httpcore's pool closes the
    # connections it evicts one await at a time, shielded from anyio cancellation only, so
    # a native cancel there left the rest unclosed (a ResourceWarning at some later GC).
    stop = anyio.CancelScope()

    async def run() -> None:
        with stop:
            async with (
                httpx.AsyncClient(timeout=10, limits=LIMITS) as client,
                anyio.create_task_group() as group,
            ):
                for n in itertools.count():
                    group.start_soon(send, client, n)
                    await anyio.sleep(1 / per_second)

    task = asyncio.create_task(run())
    try:
        yield
    finally:
        stop.cancel()
        await task


@contextlib.asynccontextmanager
async def posts(
    url: str,
    body: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    per_second: float,
    trace_prefix: str | None = None,
) -> AsyncIterator[dict[str, int]]:
    """Open-loop POSTs of `body` (of a sequence, the n-th post sends body[n % len]) at
    `per_second` until the block ends; yields each one's trace id (`<trace_prefix>-<n>`,
    or the one the service chose) and status (0: no answer)."""
    statuses: dict[str, int] = {}
    bodies = [body] if isinstance(body, Mapping) else list(body)

    async def send(client: httpx.AsyncClient, n: int) -> None:
        headers = {"X-Trace-Id": f"{trace_prefix}-{n}"} if trace_prefix else {}
        try:
            response = await client.post(url, json=bodies[n % len(bodies)], headers=headers)
        except httpx.HTTPError:
            statuses[headers.get("X-Trace-Id", f"unanswered-{n}")] = 0
        else:
            statuses[response.headers.get("x-trace-id", f"untraced-{n}")] = response.status_code

    async with open_loop(send, per_second=per_second):
        yield statuses


def checkouts(
    checkout_url: str,
    *,
    per_second: float = 25,
    order: Mapping[str, Any] | Sequence[Mapping[str, Any]] = ORDER,
) -> contextlib.AbstractAsyncContextManager[dict[str, int]]:
    """Open-loop checkouts (of a sequence of orders, each in turn) until the block ends;
    yields each one's trace id and status."""
    return posts(f"{checkout_url}/checkout", order, per_second=per_second)
