"""The checkout service: `uvicorn --factory checkout.app:create_app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TypedDict

from fastapi import FastAPI

from aiops_telemetry import SimulatedWork, Telemetry, configure_logging_from, package_version

from .compensation import Compensator, RetryPolicy
from .retention import retention_task
from .routes import HEALTH_CHECKS, Downstream, register_error_handlers, router
from .settings import CheckoutSettings
from .voids import open_ledger


class State(TypedDict):
    downstream: Downstream
    compensator: Compensator
    work: SimulatedWork


def create_app(settings: CheckoutSettings | None = None) -> FastAPI:
    settings = settings or CheckoutSettings()
    configure_logging_from(settings, service=settings.service_name)
    telemetry = Telemetry(settings, version=package_version("aiops-checkout"))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(telemetry)
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
            ledger = await stack.enter_async_context(
                open_ledger(telemetry, pool_size=settings.db_pool_size, timeout=settings.db_timeout)
            )
            compensator = Compensator(
                payment=clients["payment"], ledger=ledger, policy=RetryPolicy.of(settings)
            )
            await stack.enter_async_context(compensator.retrying())
            await stack.enter_async_context(retention_task(ledger, settings).running())
            yield {
                "downstream": Downstream(**clients),
                "compensator": compensator,
                "work": SimulatedWork(settings.work_ms, settings.work_jitter),
            }

    app = FastAPI(title="checkout", version=telemetry.version, lifespan=lifespan)
    telemetry.instrument(app, checks=HEALTH_CHECKS)
    register_error_handlers(app)
    app.include_router(router)
    return app
