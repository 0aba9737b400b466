"""The analyzer service: `uvicorn --factory analyzer.app:create_app`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

import asyncpg
from fastapi import FastAPI
from redis.asyncio import Redis

from aiops_telemetry import BodyLimitMiddleware, apply_migrations, package_version, wait_for_pool

from .api import router
from .incidents import IncidentDesk, IncidentStore, Notifier
from .leader import LeaderLock, replica_identity
from .loop import AnalysisLoop
from .roles import enable_reader_login
from .settings import AnalyzerSettings


class State(TypedDict):
    settings: AnalyzerSettings
    pool: asyncpg.Pool
    loop: AnalysisLoop
    desk: IncidentDesk


def create_app(settings: AnalyzerSettings | None = None) -> FastAPI:
    settings = settings or AnalyzerSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        pool = await wait_for_pool(
            settings.database_url.get_secret_value(), min_size=1, max_size=4, command_timeout=30
        )
        # Short timeouts: a Redis that hangs must not stall the loop or the API.
        redis = Redis.from_url(
            settings.redis_url.get_secret_value(), socket_timeout=2, socket_connect_timeout=2
        )
        try:
            async with pool.acquire() as conn:
                await apply_migrations(conn, component="telemetry", package="aiops_telemetry")
                await apply_migrations(conn, component="analyzer", package="analyzer")
                if reader_password := settings.reader_password_value():
                    await enable_reader_login(conn, reader_password)
            async with Notifier(
                settings.webhook_targets(),
                timeout=settings.webhook_timeout,
                retries=settings.webhook_retries,
            ) as notifier:
                store = IncidentStore(redis, ttl_s=settings.incident_ttl)
                desk = IncidentDesk(store, pool, notifier, settings.incident_policy())
                leader = LeaderLock(redis, identity=replica_identity(), ttl_s=settings.leader_ttl)
                loop = AnalysisLoop(
                    pool,
                    desk,
                    leader,
                    settings.detection(),
                    settings.timing(),
                    settings.rca(),
                    interval=settings.analysis_interval,
                    heartbeat=settings.leader_ttl / 3,
                )
                stop = asyncio.Event()
                task = asyncio.create_task(loop.run(stop), name="analysis-loop")
                try:
                    yield {"settings": settings, "pool": pool, "loop": loop, "desk": desk}
                finally:
                    stop.set()
                    await task
        finally:
            await redis.aclose()
            await asyncio.wait_for(pool.close(), 10)

    app = FastAPI(title="analyzer", version=package_version("aiops-analyzer"), lifespan=lifespan)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.include_router(router)
    return app
