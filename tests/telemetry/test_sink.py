"""The COPY sink against a real PostgreSQL: written, bounded, retried, counted."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import asyncpg

from aiops_telemetry import SERVER, TelemetrySink
from aiops_telemetry._span import error_text
from tests.support.processes import free_port
from tests.support.telemetry_rows import (
    connector,
    database_sink,
    fill,
    migrate,
    span,
    wait_for_rows,
)


async def count(db: asyncpg.Connection, trace_id: str) -> int:
    n: int = await db.fetchval("SELECT count(*) FROM telemetry WHERE trace_id = $1", trace_id)
    return n


async def test_rows_are_written_and_flushed_on_close(
    database_url: str, db: asyncpg.Connection
) -> None:
    """Every recorded row reaches the table, the last ones by the flush on close."""
    trace_id = uuid.uuid4().hex
    async with database_sink(database_url, flush_interval=30) as sink:
        fill(sink, trace_id, 12_345)
    assert await count(db, trace_id) == 12_345
    stats = sink.stats()
    assert (stats.written, stats.dropped, stats.buffered, stats.state) == (12_345, 0, 0, "closed")


async def test_a_full_batch_flushes_before_the_interval(
    database_url: str, db: asyncpg.Connection
) -> None:
    trace_id = uuid.uuid4().hex
    async with database_sink(database_url, batch_size=100, flush_interval=60) as sink:
        fill(sink, trace_id, 100)
        rows = await wait_for_rows(db, "trace_id = $1", trace_id, count=100, timeout=10)
        assert len(rows) == 100


async def test_unreachable_database_keeps_rows_and_drops_only_beyond_the_bound() -> None:
    """With nowhere to write, the sink holds `max_buffered` rows, counts the rest, reports why.
    Its room (what a batch may take with no row dropped, for ingest's all-or-nothing) shrinks
    with every row it holds, and is none once it is full or closed."""
    dead = f"postgresql://aiops@127.0.0.1:{free_port()}/aiops"
    sink = TelemetrySink(connector(dead), max_buffered=500, flush_interval=0.05, max_backoff=0.1)
    await sink.start()
    assert sink.room() == 500
    fill(sink, "unreachable", 200)
    assert sink.room() == 300
    fill(sink, "unreachable", 600)
    assert sink.room() == 0
    await asyncio.sleep(0.5)
    stats = sink.stats()
    assert stats.state == "retrying"
    assert stats.buffered == 500
    assert stats.dropped == 300
    assert sink.room() == 0
    assert stats.failed_flushes >= 2
    assert stats.last_flush_error is not None
    assert "Connect" in stats.last_flush_error or "refused" in stats.last_flush_error.lower()
    await sink.close(timeout=3)
    assert sink.stats().dropped == 800, "rows still unwritten at shutdown are counted as dropped"
    assert sink.room() == 0


async def test_rows_buffered_during_an_outage_are_written_when_it_ends_and_free_their_room(
    database_url: str, db: asyncpg.Connection
) -> None:
    """The sink reconnects by itself; nothing recorded while PostgreSQL was away is lost, and
    the room those rows took comes back once they are written."""
    trace_id = uuid.uuid4().hex
    outage = {"on": True}

    async def flaky_connect() -> asyncpg.Connection:
        if outage["on"]:
            raise ConnectionRefusedError("simulated outage")
        conn: asyncpg.Connection = await asyncpg.connect(database_url)
        return conn

    sink = TelemetrySink(flaky_connect, max_buffered=2_000, flush_interval=0.05, max_backoff=0.2)
    async with sink:
        fill(sink, trace_id, 1_000)
        await asyncio.sleep(0.3)
        assert sink.stats().state == "retrying"
        assert sink.room() == 1_000  # nothing written yet: nothing freed
        outage["on"] = False
        deadline = time.monotonic() + 10
        while sink.stats().buffered and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert sink.room() == 2_000
    assert await count(db, trace_id) == 1_000
    assert sink.stats().dropped == 0


async def test_only_the_rows_the_table_rejects_are_dropped(
    database_url: str, db: asyncpg.Connection
) -> None:
    """A row that violates a CHECK costs only itself, not its chunk, and never wedges the sink."""
    good = uuid.uuid4().hex
    async with database_sink(database_url, flush_interval=60, copy_chunk=1_000) as sink:
        for i in range(500):
            kind = "not-a-kind" if i == 250 else SERVER
            sink.record(span("sink-test", at=datetime.now(UTC), trace_id=good, kind=kind))
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
    fill(sink, "hung", 300)
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
    fill(sink, "late", 1)
    assert sink.stats().dropped == 1


async def test_start_creates_the_schema_before_any_row(fresh_database_url: str) -> None:
    """Right after a service starts, psql already finds the `telemetry` table."""
    sink = TelemetrySink(connector(fresh_database_url), on_connect=migrate, flush_interval=60)
    await sink.start()
    try:
        conn = await asyncpg.connect(fresh_database_url)
        try:
            assert await conn.fetchval("SELECT to_regclass('telemetry')::text") == "telemetry"
        finally:
            await conn.close()
    finally:
        await sink.close()
