"""The inventory service: `uvicorn --factory inventory.app:create_app`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

from fastapi import FastAPI, Request

from aiops_telemetry import (
    Database,
    SimulatedWork,
    Telemetry,
    apply_migrations,
    configure_logging_from,
    package_version,
)

from .routes import register_error_handlers, router
from .settings import InventorySettings


class State(TypedDict):
    db: Database
    work: SimulatedWork


async def database_check(request: Request) -> str:
    db: Database = request.state.db
    try:
        await asyncio.wait_for(db.pool.fetchval("SELECT 1"), 1.0)
    except Exception as exc:  # health reports every failure rather than raising it
        return f"unavailable: {type(exc).__name__}"
    return "ok"


def create_app(settings: InventorySettings | None = None) -> FastAPI:
    settings = settings or InventorySettings()
    configure_logging_from(settings, service=settings.service_name)
    telemetry = Telemetry(settings, version=package_version("aiops-inventory"))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        async with telemetry:
            pool = await telemetry.create_pool(
                min_size=1,
                max_size=settings.db_pool_size,
                command_timeout=settings.db_timeout,
                timeout=settings.db_timeout,
            )
            try:
                async with pool.acquire() as conn:
                    await apply_migrations(conn, component="inventory", package="inventory")
                yield {
                    "db": Database(pool, acquire_timeout=settings.db_timeout),
                    "work": SimulatedWork(settings.work_ms, settings.work_jitter),
                }
            finally:
                await asyncio.wait_for(pool.close(), 10)

    app = FastAPI(title="inventory", version=telemetry.version, lifespan=lifespan)
    telemetry.instrument(app, checks={"database": database_check})
    register_error_handlers(app)
    app.include_router(router)
    return app
