"""Telemetry rows for the tests: built by hand (`span`), recorded through a real sink (an app's
requests, or rows of its own), and read back from `telemetry`."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from starlette.applications import Starlette

from aiops_telemetry import SERVER, SpanRow, TelemetrySink, apply_migrations, new_span_id, span_row
from aiops_telemetry.middleware import TelemetryMiddleware


def connector(dsn: str, *, timeout: float = 60) -> Callable[[], Awaitable[asyncpg.Connection]]:
    """How a sink connects to `dsn`: a new connection each time it asks."""

    async def connect() -> asyncpg.Connection:
        conn: asyncpg.Connection = await asyncpg.connect(dsn, timeout=timeout)
        return conn

    return connect


async def migrate(conn: asyncpg.Connection) -> None:
    """The telemetry schema, as a service's sink applies it on connecting."""
    await apply_migrations(conn, component="telemetry", package="aiops_telemetry")


@asynccontextmanager
async def connection(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain connection to `database_url`, closed afterwards."""
    conn: asyncpg.Connection = await asyncpg.connect(database_url)
    try:
        yield conn
    finally:
        await conn.close()


@asynccontextmanager
async def schema_connection(
    database_url: str, *, analyzer: bool = False
) -> AsyncIterator[asyncpg.Connection]:
    """A connection to `database_url` with the telemetry schema applied, and the analyzer's
    too if asked; closed afterwards."""
    async with connection(database_url) as conn:
        await migrate(conn)
        if analyzer:
            await apply_migrations(conn, component="analyzer", package="analyzer")
        yield conn


@asynccontextmanager
async def database_sink(database_url: str, **options: Any) -> AsyncIterator[TelemetrySink]:
    """A running sink that writes to the real database (its schema applied on connecting),
    flushing every 0.05 s; `options` are more of TelemetrySink's."""
    options = {"flush_interval": 0.05, **options}
    async with TelemetrySink(connector(database_url), on_connect=migrate, **options) as sink:
        yield sink


@asynccontextmanager
async def recorded_client(
    database_url: str, app: Starlette, service: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app` in-process, behind the telemetry middleware as `service`, whose sink
    flushes to the real database."""
    async with database_sink(database_url) as sink:
        app.add_middleware(TelemetryMiddleware, sink=sink, service_name=service)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{service}") as client:
            yield client


async def wait_for_rows(
    conn: asyncpg.Connection, where: str, *args: Any, count: int, timeout: float = 15.0
) -> list[asyncpg.Record]:
    """The telemetry rows matching `where`, once at least `count` of them have arrived."""
    deadline = time.monotonic() + timeout
    while True:
        rows: list[asyncpg.Record] = await conn.fetch(
            f'SELECT * FROM telemetry WHERE {where} ORDER BY "timestamp"', *args
        )
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.1)


def span(
    service: str,
    *,
    at: datetime,
    endpoint: str = "/x",
    method: str = "POST",
    status: int | None = 200,
    latency_ms: float = 10.0,
    kind: str = SERVER,
    peer: str | None = None,
    trace_id: str | None = None,
    span_id: str | None = None,
    parent: str | None = None,
    error_kind: str | None = None,
    error_message: str | None = None,
) -> SpanRow:
    """A telemetry row `service` recorded at `at`: unless told otherwise, the root server span
    of a trace of its own (fresh ids), answered 200 in 10 ms."""
    return span_row(
        timestamp=at,
        service_name=service,
        endpoint=endpoint,
        method=method,
        status_code=status,
        latency_ms=latency_ms,
        error_message=error_message,
        trace_id=trace_id or uuid.uuid4().hex,
        span_id=span_id or new_span_id(),
        parent_span_id=parent,
        kind=kind,
        peer_service=peer,
        error_kind=error_kind,
    )


def fill(sink: TelemetrySink, trace_id: str, count: int, *, service: str = "sink-test") -> None:
    """`count` rows of trace `trace_id` recorded into `sink`: requests `service` served now."""
    for _ in range(count):
        sink.record(span(service, at=datetime.now(UTC), trace_id=trace_id))
