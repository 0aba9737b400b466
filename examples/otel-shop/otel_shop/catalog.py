"""`catalog`: the caller. GET /products/{sku} asks pricing for the price over httpx.

PRICING_URL says where pricing is (default http://127.0.0.1:8102).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException

from .tracing import instrument

PRODUCTS = {"SKU-001": "Mug", "SKU-002": "Sticker", "SKU-003": "Hoodie"}


def create_app() -> FastAPI:
    pricing_url = os.environ.get("PRICING_URL", "http://127.0.0.1:8102").rstrip("/")
    clients: list[httpx.AsyncClient] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # One pooled client for the process; created here so the httpx instrumentation,
        # installed below at app creation, is in place before it exists.
        async with httpx.AsyncClient(base_url=pricing_url, timeout=5.0) as client:
            clients.append(client)
            yield

    app = FastAPI(title="catalog", lifespan=lifespan)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/products/{sku}")
    async def product(sku: str) -> dict[str, str | float]:
        if sku not in PRODUCTS:
            raise HTTPException(404, f"no product {sku}")
        try:
            answer = await clients[0].get(f"/prices/{sku}")
        except httpx.HTTPError as exc:
            raise HTTPException(502, f"pricing did not answer: {type(exc).__name__}") from exc
        if answer.status_code != 200:
            raise HTTPException(502, f"pricing answered {answer.status_code}")
        return {"sku": sku, "name": PRODUCTS[sku], "price": answer.json()["price"]}

    instrument(app)
    return app
