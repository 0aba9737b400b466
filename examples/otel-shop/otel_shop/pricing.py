"""`pricing`: the callee. GET /prices/{sku}, plus a fault switch for demonstrations.

`POST /fault?delay_ms=400` makes every price slow, `POST /fault?error_rate=1` makes
them fail with an unhandled exception (a 500, and an `exception` event on the span),
`DELETE /fault` clears it, `GET /fault` shows it. PRICING_FAULT_DELAY_MS and
PRICING_FAULT_ERROR_RATE set it at start. A demo switch, not an API to expose.
"""

from __future__ import annotations

import asyncio
import os
import random
from dataclasses import asdict, dataclass

from fastapi import FastAPI, HTTPException, Query

from .tracing import instrument

PRICES = {"SKU-001": 19.99, "SKU-002": 5.0, "SKU-003": 42.5}


@dataclass
class Fault:
    delay_ms: float = 0.0
    error_rate: float = 0.0


class PricingFault(RuntimeError):
    """What an injected failure raises: unhandled, as a real bug would be."""


def create_app() -> FastAPI:
    app = FastAPI(title="pricing")
    # A little steady work, so a latency fault stands out against a real baseline.
    work_s = float(os.environ.get("PRICING_WORK_MS", "5")) / 1000
    fault = Fault(
        delay_ms=float(os.environ.get("PRICING_FAULT_DELAY_MS", "0")),
        error_rate=float(os.environ.get("PRICING_FAULT_ERROR_RATE", "0")),
    )

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/prices/{sku}")
    async def price(sku: str) -> dict[str, str | float]:
        await asyncio.sleep(work_s + fault.delay_ms / 1000)
        if fault.error_rate and random.random() < fault.error_rate:
            raise PricingFault(f"pricing fault injected for {sku}")
        if sku not in PRICES:
            raise HTTPException(404, f"no price for {sku}")
        return {"sku": sku, "price": PRICES[sku], "currency": "USD"}

    @app.get("/fault")
    async def show_fault() -> dict[str, float]:
        return asdict(fault)

    @app.post("/fault")
    async def set_fault(
        delay_ms: float = Query(0, ge=0, le=60_000),
        error_rate: float = Query(0, ge=0, le=1),
    ) -> dict[str, float]:
        fault.delay_ms, fault.error_rate = delay_ms, error_rate
        return asdict(fault)

    @app.delete("/fault")
    async def clear_fault() -> dict[str, float]:
        fault.delay_ms, fault.error_rate = 0.0, 0.0
        return asdict(fault)

    instrument(app)
    return app
