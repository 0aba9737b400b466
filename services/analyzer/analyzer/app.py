"""The analyzer service: `uvicorn --factory analyzer.app:create_app`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

import asyncpg
from fastapi import FastAPI

from aiops_telemetry import apply_migrations, package_version, wait_for_pool

from .api import router
from .cycle import restore_state
from .loop import AnalysisLoop
from .settings import AnalyzerSettings


class State(TypedDict):
    pool: asyncpg.Pool
    loop: AnalysisLoop


def create_app(settings: AnalyzerSettings | None = None) -> FastAPI:
    settings = settings or AnalyzerSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        pool = await wait_for_pool(
            settings.database_url.get_secret_value(), min_size=1, max_size=4, command_timeout=30
        )
        try:
            async with pool.acquire() as conn:
                await apply_migrations(conn, component="telemetry", package="aiops_telemetry")
                await apply_migrations(conn, component="analyzer", package="analyzer")
                state = await restore_state(conn)
            loop = AnalysisLoop(
                pool,
                state,
                settings.detection(),
                settings.timing(),
                interval=settings.analysis_interval,
                active_for=settings.anomaly_retention_s,
            )
            stop = asyncio.Event()
            task = asyncio.create_task(loop.run(stop), name="analysis-loop")
            try:
                yield {"pool": pool, "loop": loop}
            finally:
                stop.set()
                await task
        finally:
            await asyncio.wait_for(pool.close(), 10)

    app = FastAPI(title="analyzer", version=package_version("aiops-analyzer"), lifespan=lifespan)
    app.include_router(router)
    return app
