"""Serving an app through a real sink, and reading what it wrote to `telemetry`."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
import httpx
from starlette.types import ASGIApp

from aiops_telemetry import SERVER, SpanRow, TelemetrySink, apply_migrations, new_span_id, span_row


@asynccontextmanager
async def recorded_client(
    database_url: str, build_app: Callable[[TelemetrySink], ASGIApp], host: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `build_app(sink)` in-process, its sink flushing to the real database."""

    async def connect() -> asyncpg.Connection:
        conn: asyncpg.Connection = await asyncpg.connect(database_url)
        return conn

    async def migrate(conn: asyncpg.Connection) -> None:
        await apply_migrations(conn, component="telemetry", package="aiops_telemetry")

    async with TelemetrySink(connect, on_connect=migrate, flush_interval=0.05) as sink:
        transport = httpx.ASGITransport(app=build_app(sink))
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as client:
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


def server_span(
    at: datetime,
    service: str,
    *,
    endpoint: str = "/payment",
    status: int = 200,
    latency_ms: float = 10.0,
) -> SpanRow:
    """A root server span of its own trace: one request `service` served at `at`."""
    return span_row(
        timestamp=at,
        service_name=service,
        endpoint=endpoint,
        method="POST",
        status_code=status,
        latency_ms=latency_ms,
        error_message=None,
        trace_id=uuid.uuid4().hex,
        span_id=new_span_id(),
        parent_span_id=None,
        kind=SERVER,
        peer_service=None,
        error_kind=None,
    )
