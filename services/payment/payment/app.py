"""The payment service: `uvicorn --factory payment.app:create_app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

from fastapi import FastAPI

from aiops_telemetry import SimulatedWork, Telemetry, package_version

from .routes import router
from .settings import PaymentSettings


class State(TypedDict):
    work: SimulatedWork


def create_app(settings: PaymentSettings | None = None) -> FastAPI:
    settings = settings or PaymentSettings()
    telemetry = Telemetry(settings, version=package_version("aiops-payment"))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        async with telemetry:
            yield {"work": SimulatedWork(settings.work_ms, settings.work_jitter)}

    app = FastAPI(title="payment", version=telemetry.version, lifespan=lifespan)
    telemetry.instrument(app)
    app.include_router(router)
    return app
