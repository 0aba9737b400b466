"""`Telemetry`: one object that makes a FastAPI service observed, owned by its lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import asyncpg
import httpx
from fastapi import APIRouter, FastAPI, Request

from aiops_api.service import ServiceHealth

from ._db import close_pool, create_pool
from ._migrations import apply_migrations
from ._settings import ServiceSettings
from ._sink import TelemetrySink
from ._startup import StartupErrorReporter, database_login_error
from .access_log import AccessLogMiddleware
from .chaos import CHAOS_PREFIX, ChaosMiddleware, FaultBook
from .chaos_api import chaos_router
from .database import Database
from .http_client import create_http_client
from .limits import BodyLimitMiddleware
from .middleware import TelemetryMiddleware

logger = logging.getLogger("aiops_telemetry.service")

HealthCheck = Callable[[Request], Awaitable[str]]


def package_version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "0+unknown"


class Telemetry:
    """The sink, the middleware, instrumented clients and `/health` for one service.

    Constructing it does no I/O; `async with telemetry:` (in the lifespan)
    starts the background writer and flushes it on exit.
    """

    def __init__(self, settings: ServiceSettings, *, version: str) -> None:
        self.service_name = settings.service_name
        self.version = version
        self._settings = settings
        self.sink = TelemetrySink(
            self._connect,
            on_connect=self._migrate,
            max_buffered=settings.telemetry_max_buffered,
            batch_size=settings.telemetry_batch_size,
            flush_interval=settings.telemetry_flush_interval,
        )
        self.chaos = FaultBook(max_ttl_s=settings.chaos_max_ttl)

    async def _connect(self) -> asyncpg.Connection:
        conn: asyncpg.Connection = await asyncpg.connect(
            self._settings.database_url.get_secret_value(),
            password=self._settings.database_password_value(),
            timeout=5,
        )
        return conn

    async def _check_login(self) -> None:
        """Fail the start at once when PostgreSQL refuses our login: the sink would retry it
        forever. Any other failure (not up yet, say) is the sink's to retry."""
        try:
            conn = await self._connect()
        except asyncpg.InvalidAuthorizationSpecificationError as exc:
            raise database_login_error(exc) from exc
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            logger.warning("PostgreSQL not reachable at start (%s); telemetry is buffered", exc)
        else:
            await conn.close()

    async def _migrate(self, conn: asyncpg.Connection) -> None:
        await apply_migrations(conn, component="telemetry", package="aiops_telemetry")

    def instrument(self, app: FastAPI, *, checks: Mapping[str, HealthCheck] | None = None) -> None:
        """Add the tracing, access log and chaos middleware, `GET /health` and the chaos API.

        Chaos is added first so that it runs inside the tracing middleware:
        an injected fault is recorded like a real one, and so is a body refused
        for its size.
        """
        app.add_middleware(ChaosMiddleware, book=self.chaos)
        app.add_middleware(StartupErrorReporter)
        app.add_middleware(BodyLimitMiddleware, max_bytes=self._settings.max_body_bytes)
        # Just inside the tracing: its line carries the trace id, and a 413 or a fault is in it.
        app.add_middleware(AccessLogMiddleware, quiet_paths=self._settings.telemetry_exclude_paths)
        app.add_middleware(
            TelemetryMiddleware,
            sink=self.sink,
            service_name=self.service_name,
            exclude_paths=[*self._settings.telemetry_exclude_paths, CHAOS_PREFIX],
            exclude_prefixes=(f"{CHAOS_PREFIX}/",),
        )
        app.include_router(self._health_router(checks or {}))
        app.include_router(
            chaos_router(
                self.chaos, service_name=self.service_name, token=self._settings.chaos_token
            )
        )

    def _health_router(self, checks: Mapping[str, HealthCheck]) -> APIRouter:
        router = APIRouter()

        @router.get("/health", tags=["health"])
        async def health(request: Request) -> ServiceHealth:
            """Liveness, version, and the state of the telemetry pipeline."""
            results = {name: await check(request) for name, check in checks.items()}
            stats = self.sink.stats()
            healthy = stats.state == "ok" and all(r == "ok" for r in results.values())
            return ServiceHealth(
                service=self.service_name,
                version=self.version,
                status="ok" if healthy else "degraded",
                checks=results,
                telemetry=stats,
            )

        return router

    def http_client(self, *, base_url: str, peer_service: str, timeout: float) -> httpx.AsyncClient:
        return create_http_client(
            base_url=base_url,
            peer_service=peer_service,
            sink=self.sink,
            service_name=self.service_name,
            timeout=timeout,
            transport=self._settings.http_transport,
        )

    async def create_pool(self, **pool_options: Any) -> asyncpg.Pool:
        return await create_pool(
            self._settings.database_url.get_secret_value(),
            password=self._settings.database_password_value(),
            sink=self.sink,
            service_name=self.service_name,
            **pool_options,
        )

    @asynccontextmanager
    async def database(
        self, *, migrations: str, pool_size: int, timeout: float
    ) -> AsyncIterator[Database]:
        """The service's own `Database`: a pool of at most `pool_size` connections (queries
        traced, each bounded by `timeout`, as is a wait for a connection), with the
        migrations of package `migrations` applied (component of that name); closed on exit."""
        pool = await self.create_pool(
            min_size=1, max_size=pool_size, command_timeout=timeout, timeout=timeout
        )
        try:
            async with pool.acquire() as conn:
                await apply_migrations(conn, component=migrations, package=migrations)
            yield Database(pool, acquire_timeout=timeout)
        finally:
            await close_pool(pool)

    async def __aenter__(self) -> Telemetry:
        await self._check_login()
        await self.sink.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.sink.close()
