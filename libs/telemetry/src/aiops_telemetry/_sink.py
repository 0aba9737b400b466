"""The telemetry sink: a bounded in-memory buffer written to PostgreSQL by COPY.

Requests only ever append to a list (`record` never awaits, never raises).
One background task owns the database connection and writes what is
buffered with binary COPY, in chunks, every flush interval. When PostgreSQL is unreachable the
rows stay buffered and the task retries with capped exponential backoff;
only rows beyond `max_buffered` are dropped, and every drop is counted.

`CopySink` is the machinery for any table and row type (ingest writes
metric points with it too); `TelemetrySink` is it for span rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Generic, Literal, Self, TypeVar

import asyncpg

from aiops_api.common import SinkStatus

from ._span import COLUMNS, SpanRow, describe_error

logger = logging.getLogger("aiops_telemetry.sink")

Connect = Callable[[], Awaitable[asyncpg.Connection]]
OnConnect = Callable[[asyncpg.Connection], Awaitable[None]]

# Errors that no retry can fix: the rows themselves are unwritable.
_POISON = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError)

Row = TypeVar("Row", bound=tuple[Any, ...])


class CopySink(Generic[Row]):
    """Buffer rows (tuples in `columns` order) and write them to `table` in the background."""

    def __init__(
        self,
        connect: Connect,
        *,
        on_connect: OnConnect | None = None,
        table: str = "telemetry",
        columns: Sequence[str] = COLUMNS,
        max_buffered: int = 100_000,
        batch_size: int = 5_000,
        copy_chunk: int = 1_000,
        flush_interval: float = 0.5,
        max_backoff: float = 5.0,
        write_timeout: float = 15.0,
    ) -> None:
        self._connect = connect
        self._on_connect = on_connect
        self._table = table
        self._columns = tuple(columns)
        self._max_buffered = max_buffered
        self._batch_size = batch_size
        self._copy_chunk = copy_chunk
        self._flush_interval = flush_interval
        self._max_backoff = max_backoff
        self._write_timeout = write_timeout

        self._buffer: list[Row] = []
        self._in_flight = 0
        self._consumed = 0  # rows of the current flush written or dropped, a prefix
        self._written = 0
        self._dropped = 0
        self._failed_flushes = 0
        self._last_flush_at: datetime | None = None
        self._last_error: str | None = None
        self._last_error_at: datetime | None = None
        self._backing_off = False
        self._closing = False
        self._closed = False
        self._wakeup = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None

    def record(self, row: Row) -> None:
        """Queue one row. Never blocks, never raises; counts it if it must drop it."""
        if self._closed or len(self._buffer) + self._in_flight >= self._max_buffered:
            self._dropped += 1
            return
        self._buffer.append(row)
        if len(self._buffer) == self._batch_size and not self._backing_off:
            self._wakeup.set()

    def room(self) -> int:
        """Rows `record` would take now without dropping one (0 once closed).

        A caller with a batch checks this first to take all of it or none:
        nothing awaits between the check and its `record` calls, so no other
        task can fill the room in between.
        """
        if self._closed:
            return 0
        return max(0, self._max_buffered - len(self._buffer) - self._in_flight)

    def stats(self) -> SinkStatus:
        """Its counters, as `/health` answers them."""
        state: Literal["ok", "retrying", "closed"]
        if self._closed:
            state = "closed"
        elif self._backing_off:
            state = "retrying"
        else:
            state = "ok"
        return SinkStatus(
            state=state,
            buffered=len(self._buffer) + self._in_flight,
            written=self._written,
            dropped=self._dropped,
            failed_flushes=self._failed_flushes,
            max_buffered=self._max_buffered,
            last_flush_at=self._last_flush_at,
            last_flush_error=self._last_error,
            last_flush_error_at=self._last_error_at,
        )

    async def start(self, connect_timeout: float = 5.0) -> None:
        """Start the writer, connecting (and so migrating) first when PostgreSQL is there.

        Connecting up front means the schema exists as soon as the service is
        up; when PostgreSQL is not reachable yet, the writer keeps trying.
        """
        if self._task is not None:
            return
        try:
            await asyncio.wait_for(self._connection(), connect_timeout)
        except Exception as exc:  # not fatal: the writer retries with backoff
            self._note_error(exc)
            logger.warning("telemetry store not reachable at start, will retry: %s", exc)
            await self._disconnect()
        self._task = asyncio.create_task(self._run(), name=f"{self._table}-sink")

    async def close(self, timeout: float = 10.0) -> None:
        """Flush what is buffered (one last try, within `timeout`) and stop."""
        if self._task is not None:
            self._closing = True
            self._wakeup.set()
            try:
                await asyncio.wait_for(self._task, timeout)
            except TimeoutError:
                logger.error("telemetry sink did not finish its final flush within %.1fs", timeout)
            self._task = None
        self._closed = True
        lost = len(self._buffer) + self._in_flight
        if lost:
            self._dropped += lost
            self._buffer.clear()
            logger.error("%d telemetry rows could not be written before shutdown", lost)
        await self._disconnect()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _run(self) -> None:
        delay = 0.0
        while not self._closing:
            await self._sleep(delay or self._flush_interval)
            if await self._flush():
                delay = 0.0
                self._backing_off = False
            else:
                delay = min(max(delay * 2, 0.1), self._max_backoff)
                self._backing_off = True
        await self._flush()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), seconds)
        self._wakeup.clear()

    async def _flush(self) -> bool:
        """Write everything buffered; True when nothing is left to retry.

        Rows go out in COPYs of `copy_chunk` rows: encoding a whole buffer at
        once would hold the event loop (and every request) for tens of ms,
        while each chunk's round trip lets requests run in between. Whatever
        stops a flush (an error, or cancellation at shutdown), the rows not
        yet written go back to the front of the buffer, in order.
        """
        if not self._buffer:
            return True
        rows, self._buffer = self._buffer, []
        self._in_flight = len(rows)
        self._consumed = 0
        failure: Exception | None = None
        try:
            conn = await self._connection()
            while self._consumed < len(rows):
                await self._copy(conn, rows[self._consumed : self._consumed + self._copy_chunk])
                self._in_flight = len(rows) - self._consumed
        except Exception as exc:  # any failure is retried: the sink must outlive its database
            failure = exc
        finally:
            self._buffer[:0] = rows[self._consumed :]
            self._in_flight = 0
        if failure is not None:
            self._failed_flushes += 1
            self._note_error(failure)
            logger.warning(
                "telemetry flush failed (%d rows kept for retry): %s",
                len(rows) - self._consumed,
                failure,
            )
            await self._disconnect()
            return False
        self._last_flush_at = datetime.now(UTC)
        return True

    async def _copy(self, conn: asyncpg.Connection, rows: list[Row]) -> None:
        """COPY `rows`; if the table rejects some, bisect so only those are dropped and counted."""
        try:
            await conn.copy_records_to_table(
                self._table, records=rows, columns=self._columns, timeout=self._write_timeout
            )
        except _POISON as exc:
            if len(rows) > 1:
                half = len(rows) // 2
                await self._copy(conn, rows[:half])
                await self._copy(conn, rows[half:])
                return
            self._dropped += 1
            self._note_error(exc)
            logger.error("dropped an unwritable telemetry row: %s", exc)
        else:
            self._written += len(rows)
        self._consumed += len(rows)

    def _note_error(self, exc: BaseException) -> None:
        self._last_error = describe_error(exc, limit=500)
        self._last_error_at = datetime.now(UTC)

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await self._connect()
            if self._on_connect is not None:
                await self._on_connect(self._conn)
        return self._conn

    async def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), 2.0)
            except Exception:  # a dead connection cannot be closed politely
                conn.terminate()


class TelemetrySink(CopySink[SpanRow]):
    """Span rows into `telemetry` (or another table of its columns)."""
