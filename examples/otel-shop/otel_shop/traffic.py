"""Steady GETs of catalog's products, so the analyzer learns a baseline; no tracing of its own.

`python -m otel_shop.traffic --url http://catalog:8000 --rate 10` (CATALOG_URL and
TRAFFIC_RATE set the defaults); runs until stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os

import httpx

SKUS = ("SKU-001", "SKU-002", "SKU-003")


async def run(url: str, rate: float) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=10.0) as client, asyncio.TaskGroup() as tg:
        for sku in itertools.cycle(SKUS):
            tg.create_task(get(client, sku))  # open loop: a slow answer delays no request
            await asyncio.sleep(1 / rate)


async def get(client: httpx.AsyncClient, sku: str) -> None:
    try:
        await client.get(f"/products/{sku}")
    except httpx.HTTPError as exc:
        print(f"GET /products/{sku}: {type(exc).__name__}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", default=os.environ.get("CATALOG_URL", "http://127.0.0.1:8101"))
    parser.add_argument(
        "--rate", type=float, default=float(os.environ.get("TRAFFIC_RATE", "10")), help="req/s"
    )
    args = parser.parse_args()
    asyncio.run(run(args.url, args.rate))


if __name__ == "__main__":
    main()
