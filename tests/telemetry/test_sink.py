"""The COPY sink against a real PostgreSQL: written, bounded, retried, counted."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg

from aiops_telemetry import SERVER, SpanRow, TelemetrySink, apply_migrations, new_span_id, span_row
from aiops_telemetry._span import error_text
from tests.support.processes import free_port


def row(trace_id: str, *, kind: str = SERVER) -> SpanRow:
    return span_row(
        timestamp=datetime.now(UTC),
        service_name="sink-test",
        endpoint="/x",
        method="GET",
        status_code=200,
        latency_ms=1.5,
        error_message=None,
        trace_id=trace_id,
        span_id=new_span_id(),
        parent_span_id=None,
        kind=kind,
        peer_service=None,
        error_kind=None,
    )


def connector(dsn: str) -> Callable[[], Awaitable[asyncpg.Connection]]:
    async def connect() -> asyncpg.Connection:
        conn: asyncpg.Connection = await asyncpg.connect(dsn, timeout=2)
        return conn

    return connect


async def migrate(conn: asyncpg.Connection) -> None:
    await apply_migrations(conn, component="telemetry", package="aiops_telemetry")


async def count(db: asyncpg.Connection, trace_id: str) -> int:
    n: int = await db.fetchval("SELECT count(*) FROM telemetry WHERE trace_id = $1", trace_id)
    return n


async def test_rows_are_written_and_flushed_on_close(
    database_url: str, db: asyncpg.Connection
) -> None:
    """Every recorded row reaches the table, the last ones by the flush on close."""
    trace_id = uuid.uuid4().hex
    sink = TelemetrySink(connector(database_url), on_connect=migrate, flush_interval=30)
    async with sink:
        for _ in range(12_345):
            sink.record(row(trace_id))
    assert await count(db, trace_id) == 12_345
    stats = sink.stats()
    assert (stats.written, stats.dropped, stats.buffered, stats.state) == (12_345, 0, 0, "closed")


async def test_a_full_batch_flushes_before_the_interval(
    database_url: str, db: asyncpg.Connection
) -> None:
    trace_id = uuid.uuid4().hex
    async with TelemetrySink(connector(database_url), batch_size=100, flush_interval=60) as sink:
        for _ in range(100):
            sink.record(row(trace_id))
        deadline = time.monotonic() + 10
        while await count(db, trace_id) < 100 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert await count(db, trace_id) == 100


async def test_unreachable_database_keeps_rows_and_drops_only_beyond_the_bound() -> None:
    """With nowhere to write, the sink holds `max_buffered` rows, counts the rest, reports why."""
    dead = f"postgresql://aiops@127.0.0.1:{free_port()}/aiops"
    sink = TelemetrySink(connector(dead), max_buffered=500, flush_interval=0.05, max_backoff=0.1)
    await sink.start()
    for _ in range(800):
        sink.record(row("unreachable"))
    await asyncio.sleep(0.5)
    stats = sink.stats()
    assert stats.state == "retrying"
    assert stats.buffered == 500
    assert stats.dropped == 300
    assert stats.failed_flushes >= 2
    assert stats.last_flush_error is not None
    assert "Connect" in stats.last_flush_error or "refused" in stats.last_flush_error.lower()
    await sink.close(timeout=3)
    assert sink.stats().dropped == 800, "rows still unwritten at shutdown are counted as dropped"


async def test_rows_buffered_during_an_outage_are_written_when_it_ends(
    database_url: str, db: asyncpg.Connection
) -> None:
    """The sink reconnects by itself; nothing recorded while PostgreSQL was away is lost."""
    trace_id = uuid.uuid4().hex
    outage = {"on": True}

    async def flaky_connect() -> asyncpg.Connection:
        if outage["on"]:
            raise ConnectionRefusedError("simulated outage")
        conn: asyncpg.Connection = await asyncpg.connect(database_url)
        return conn

    async with TelemetrySink(flaky_connect, flush_interval=0.05, max_backoff=0.2) as sink:
        for _ in range(1_000):
            sink.record(row(trace_id))
        await asyncio.sleep(0.3)
        assert sink.stats().state == "retrying"
        outage["on"] = False
        deadline = time.monotonic() + 10
        while sink.stats().buffered and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    assert await count(db, trace_id) == 1_000
    assert sink.stats().dropped == 0


async def test_only_the_rows_the_table_rejects_are_dropped(
    database_url: str, db: asyncpg.Connection
) -> None:
    """A row that violates a CHECK costs only itself, not its chunk, and never wedges the sink."""
    good = uuid.uuid4().hex
    async with TelemetrySink(connector(database_url), flush_interval=60, copy_chunk=1_000) as sink:
        for i in range(500):
            sink.record(row(good, kind="not-a-kind" if i == 250 else SERVER))
    stats = sink.stats()
    assert (stats.written, stats.dropped) == (499, 1)
    assert stats.last_flush_error is not None
    assert "CheckViolation" in stats.last_flush_error
    assert await count(db, good) == 499


async def test_rows_cut_off_by_a_hung_database_at_shutdown_are_counted() -> None:
    """If the final flush cannot finish in time, its rows count as dropped, never vanish."""

    async def hang() -> asyncpg.Connection:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    sink = TelemetrySink(hang, flush_interval=0.05)
    await sink.start(connect_timeout=0.05)
    for _ in range(300):
        sink.record(row("hung"))
    await asyncio.sleep(0.2)  # the writer is now stuck connecting, holding the rows
    await sink.close(timeout=0.3)
    stats = sink.stats()
    assert (stats.written, stats.dropped, stats.buffered) == (0, 300, 0)


def test_error_text_is_storable() -> None:
    """NUL bytes (which PostgreSQL text rejects) are escaped, and size is bounded."""
    assert "\x00" not in error_text("a\x00b")
    assert len(error_text("x" * 100_000)) <= 8_000


def test_record_never_raises_after_close() -> None:
    sink = TelemetrySink(connector("postgresql://unused"))
    asyncio.run(sink.close())
    sink.record(row("late"))
    assert sink.stats().dropped == 1


async def test_start_creates_the_schema_before_any_row(
    db: asyncpg.Connection, database_url: str
) -> None:
    """Right after a service starts, psql already finds the `telemetry` table."""
    name = f"fresh_{uuid.uuid4().hex[:8]}"
    await db.execute(f"CREATE DATABASE {name}")
    fresh = database_url.rsplit("/", 1)[0] + f"/{name}"
    sink = TelemetrySink(connector(fresh), on_connect=migrate, flush_interval=60)
    await sink.start()
    try:
        conn = await asyncpg.connect(fresh)
        try:
            assert await conn.fetchval("SELECT to_regclass('telemetry')::text") == "telemetry"
        finally:
            await conn.close()
    finally:
        await sink.close()
        await db.execute(f"DROP DATABASE {name}")
