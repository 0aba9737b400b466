"""The analyzer service: `uvicorn --factory analyzer.app:create_app`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

import asyncpg
from fastapi import FastAPI
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, RedisError

from aiops_telemetry import (
    AccessLogMiddleware,
    BodyLimitMiddleware,
    Database,
    StartupError,
    StartupErrorReporter,
    apply_migrations,
    close_pool,
    configure_logging_from,
    package_version,
    wait_for_pool,
)

from .api import register_error_handlers, router
from .housekeeping import Housekeeper
from .incidents import IncidentDesk, IncidentStore, Notifier
from .leader import LeaderLock, replica_identity
from .loop import AnalysisLoop
from .roles import enable_reader_login
from .settings import AnalyzerSettings
from .store import SESSION_SETTINGS
from .store.metric_judgements import retention_tasks

logger = logging.getLogger("analyzer.app")

REFUSED_REDIS_LOGIN = (
    "Redis refused the analyzer's login ({reason}): AIOPS_REDIS_PASSWORD (or the password in "
    "AIOPS_REDIS_URL) must be the one Redis runs with; `docker compose up -d redis analyzer` "
    "starts both from the stack's secrets."
)


class State(TypedDict):
    settings: AnalyzerSettings
    pool: asyncpg.Pool
    db: Database
    loop: AnalysisLoop
    desk: IncidentDesk
    housekeeper: Housekeeper


async def check_redis_login(redis: Redis) -> None:
    """Stop the start when Redis refuses our password; an unreachable Redis is only an outage
    (the analyzer runs degraded and queues its findings until it is back)."""
    try:
        await redis.ping()
    except AuthenticationError as exc:
        raise StartupError(REFUSED_REDIS_LOGIN.format(reason=exc)) from exc
    except RedisError as exc:
        logger.warning("Redis not reachable at start (%s); incidents wait for it", exc)


def create_app(settings: AnalyzerSettings | None = None) -> FastAPI:
    settings = settings or AnalyzerSettings()
    configure_logging_from(settings, service="analyzer")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        pool = await wait_for_pool(
            settings.database_url.get_secret_value(),
            password=settings.database_password_value(),
            min_size=1,
            max_size=5,
            timeout=settings.db_timeout,  # connecting: a vanished host must not hang a request
            command_timeout=30,
            server_settings=SESSION_SETTINGS,
        )
        # Short timeouts: a Redis that hangs must not stall the loop or the API.
        redis = Redis.from_url(
            settings.redis_url.get_secret_value(),
            password=settings.redis_password_value(),
            socket_timeout=2,
            socket_connect_timeout=2,
        )
        try:
            await check_redis_login(redis)
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
                    metrics=settings.metric_watch(),
                )
                housekeeper = Housekeeper(
                    pool,
                    settings.retention(),
                    maintains_partitions=settings.partition_maintenance,
                )
                db = Database(pool, acquire_timeout=settings.db_timeout)
                judgements, hours = retention_tasks(
                    db,
                    judgements=settings.metric_judgement_retention,
                    season_days=settings.metric_watch().config.season_days,
                )
                stop = asyncio.Event()
                tasks = [
                    asyncio.create_task(loop.run(stop), name="analysis-loop"),
                    asyncio.create_task(housekeeper.run(stop), name="housekeeping"),
                ]
                try:
                    async with judgements.running(), hours.running():
                        yield {
                            "settings": settings,
                            "pool": pool,
                            "db": db,
                            "loop": loop,
                            "desk": desk,
                            "housekeeper": housekeeper,
                        }
                finally:
                    stop.set()
                    await asyncio.gather(*tasks)
        finally:
            await redis.aclose()
            await close_pool(pool)

    app = FastAPI(title="analyzer", version=package_version("aiops-analyzer"), lifespan=lifespan)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(StartupErrorReporter)
    # Probes and scrapes every few seconds: at DEBUG, so the log shows what people did.
    app.add_middleware(AccessLogMiddleware, quiet_paths=("/health", "/metrics"))
    register_error_handlers(app)  # PostgreSQL away: 503 with the reason, not a plain 500
    app.include_router(router)
    return app
