"""`TelemetrySink.room()`: what a batch may take without a row dropped, for all-or-nothing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg

from aiops_telemetry import SERVER, SpanRow, TelemetrySink, new_span_id, span_row
from tests.support.processes import free_port
from tests.support.telemetry_rows import wait_for_rows


def row(trace_id: str) -> SpanRow:
    return span_row(
        timestamp=datetime.now(UTC),
        service_name="room-test",
        endpoint="/x",
        method="GET",
        status_code=200,
        latency_ms=1.0,
        error_message=None,
        trace_id=trace_id,
        span_id=new_span_id(),
        parent_span_id=None,
        kind=SERVER,
        peer_service=None,
        error_kind=None,
    )


async def test_room_shrinks_with_buffered_rows_and_is_zero_once_closed() -> None:
    async def unreachable() -> asyncpg.Connection:
        conn: asyncpg.Connection = await asyncpg.connect(port=free_port(), timeout=1)
        return conn

    sink = TelemetrySink(unreachable, max_buffered=100, flush_interval=30)
    assert sink.room() == 100
    for _ in range(30):
        sink.record(row("t"))
    assert sink.room() == 70
    for _ in range(90):
        sink.record(row("t"))
    assert (sink.room(), sink.stats().dropped) == (0, 20)
    await sink.close(timeout=1)
    assert sink.room() == 0


async def test_room_comes_back_once_rows_are_written(
    database_url: str, db: asyncpg.Connection
) -> None:
    async def connect() -> asyncpg.Connection:
        conn: asyncpg.Connection = await asyncpg.connect(database_url, timeout=2)
        return conn

    trace_id = uuid.uuid4().hex
    async with TelemetrySink(connect, max_buffered=100, flush_interval=0.05) as sink:
        for _ in range(60):
            sink.record(row(trace_id))
        assert sink.room() == 40
        assert len(await wait_for_rows(db, "trace_id = $1", trace_id, count=60)) == 60
        # The sink's task notes the write just after PostgreSQL has committed it.
        for _ in range(100):
            if sink.room() == 100:
                break
            await asyncio.sleep(0.01)
        assert sink.room() == 100
