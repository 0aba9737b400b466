"""The checkout service: `uvicorn --factory checkout.app:create_app`."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import Any

from fastapi import FastAPI

from aiops_telemetry import Database, Telemetry, create_service_app

from .compensation import Compensator, RetryPolicy
from .retention import retention_task
from .routes import ERRORS, HEALTH_CHECKS, Downstream, router
from .settings import CheckoutSettings
from .voids import VoidLedger


def create_app(settings: CheckoutSettings | None = None) -> FastAPI:
    settings = settings or CheckoutSettings()

    async def start(telemetry: Telemetry, db: Database, stack: AsyncExitStack) -> Mapping[str, Any]:
        """The clients of payment and inventory, and the void retrier on the ledger."""
        clients = {
            name: await stack.enter_async_context(
                telemetry.http_client(
                    base_url=url, peer_service=name, timeout=settings.downstream_timeout
                )
            )
            for name, url in (
                ("payment", settings.payment_url),
                ("inventory", settings.inventory_url),
            )
        }
        compensator = Compensator(
            payment=clients["payment"], ledger=VoidLedger(db), policy=RetryPolicy.of(settings)
        )
        await stack.enter_async_context(compensator.retrying())
        return {"downstream": Downstream(**clients), "compensator": compensator}

    return create_service_app(
        settings,
        name="checkout",
        router=router,
        errors=ERRORS,
        retention=lambda db: retention_task(db, settings),
        start=start,
        checks=HEALTH_CHECKS,
    )
