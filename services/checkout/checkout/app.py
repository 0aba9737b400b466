"""The checkout service: `uvicorn --factory checkout.app:create_app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TypedDict

from fastapi import FastAPI

from aiops_telemetry import SimulatedWork, Telemetry, package_version

from .routes import Downstream, register_error_handlers, router
from .settings import CheckoutSettings


class State(TypedDict):
    downstream: Downstream
    work: SimulatedWork


def create_app(settings: CheckoutSettings | None = None) -> FastAPI:
    settings = settings or CheckoutSettings()
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
            yield {
                "downstream": Downstream(**clients),
                "work": SimulatedWork(settings.work_ms, settings.work_jitter),
            }

    app = FastAPI(title="checkout", version=telemetry.version, lifespan=lifespan)
    telemetry.instrument(app)
    register_error_handlers(app)
    app.include_router(router)
    return app
