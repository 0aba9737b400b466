"""Retention of a service's own rows: those past a horizon deleted in batches, by a
background task the lifespan owns (`RetentionTask.running()`).

A batch is one short `DELETE` of at most `batch_size` rows, in a transaction of its
own, on a connection checked out for it alone: a backlog of millions of rows never
holds a lock, or one of the requests' connections, for long. A batch locks the rows
it takes `SKIP LOCKED`, so replicas (each runs the task) share a backlog instead of
waiting on each other. A run that fails (the database away) is logged and the next
one tries again; the task ends only when the lifespan does.

A service declares what it keeps: its settings (`retention_period(...)` and
`retention_interval()`) and its `DELETE` statements (`RetentionTask.deleting`);
`create_service_app(retention=...)` runs the task for the lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from pydantic import Field

from ._db import DATABASE_UNAVAILABLE, Connection
from .database import Database

DEFAULT_BATCH_SIZE = 1_000
DEFAULT_INTERVAL_S = 3_600.0
# How long shutdown waits for a run in flight to finish its batch before cancelling it.
_STOP_GRACE_S = 10.0

# Deletes the rows older than the horizon it is given; returns how many. It stops
# between two batches once the event is set (shutdown).
Purge = Callable[[datetime, asyncio.Event], Awaitable[int]]


def retention_period(what: str, default: timedelta = timedelta(days=7)) -> Any:
    """A setting for how long `what` is kept: `7d`, `36h` or `90m` (a `Duration`), at least
    an hour, so that a slip (`7m` for `7d`) cannot delete rows still in use."""
    return Field(
        default,
        ge=timedelta(hours=1),
        description=f"how long {what} is kept: 7d, 36h or 90m (at least 1h)",
    )


def retention_interval(default: float = DEFAULT_INTERVAL_S) -> Any:
    """A setting for the seconds between two retention runs (a day at most)."""
    return Field(default, gt=0, le=86_400, description="seconds between retention runs")


async def delete_in_batches(
    pool: asyncpg.Pool | Database,
    delete_sql: str,
    horizon: datetime,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    stop: asyncio.Event | None = None,
    acquire_timeout: float | None = None,
) -> int:
    """Run `delete_sql` (`$1` the horizon, `$2` the batch size: it deletes at most `$2`
    rows) until a batch deletes less than a full one, or `stop` is set; how many went.

    On a `Database`, each batch checks out its connection as requests do (bounded, and
    refused at once while the database is away); `acquire_timeout` is for a bare pool."""
    deleted = 0
    while stop is None or not stop.is_set():
        async with _connection(pool, acquire_timeout) as conn:
            status: str = await conn.execute(delete_sql, horizon, batch_size)
        batch = int(status.rsplit(" ", 1)[-1])  # "DELETE <n>"
        deleted += batch
        if batch < batch_size:
            break
    return deleted


def _connection(
    pool: asyncpg.Pool | Database, acquire_timeout: float | None
) -> AbstractAsyncContextManager[Connection]:
    if isinstance(pool, Database):
        return pool.connection()
    acquired: AbstractAsyncContextManager[Connection] = pool.acquire(timeout=acquire_timeout)
    return acquired


@dataclass
class RetentionStats:
    runs: int = 0
    deleted: int = 0
    failures: int = 0
    last_error: str | None = None


class RetentionTask:
    """Every `interval_s` (and once at start), `purge` what is older than `keep`."""

    def __init__(
        self,
        purge: Purge,
        *,
        what: str,
        keep: timedelta,
        interval_s: float = DEFAULT_INTERVAL_S,
        logger: logging.Logger,
    ) -> None:
        self._purge = purge
        self.what = what  # the rows, for the log: "payment authorizations"
        self.keep = keep
        self.interval_s = interval_s
        self._logger = logger
        self._stop = asyncio.Event()
        self.stats = RetentionStats()

    @classmethod
    def deleting(
        cls,
        db: Database,
        *delete_sql: str,
        what: str,
        keep: timedelta,
        interval_s: float = DEFAULT_INTERVAL_S,
        batch_size: int = DEFAULT_BATCH_SIZE,
        logger: logging.Logger,
    ) -> RetentionTask:
        """The task that runs each of `delete_sql` in batches (`delete_in_batches`), in turn."""

        async def purge(horizon: datetime, stop: asyncio.Event) -> int:
            deleted = 0
            for sql in delete_sql:
                deleted += await delete_in_batches(
                    db, sql, horizon, batch_size=batch_size, stop=stop
                )
            return deleted

        return cls(purge, what=what, keep=keep, interval_s=interval_s, logger=logger)

    async def run_once(self, *, now: datetime | None = None) -> int:
        """One run: delete what is older than `now - keep`; how many rows went."""
        horizon = (now or datetime.now(UTC)) - self.keep
        deleted = await self._purge(horizon, self._stop)
        self.stats.runs += 1
        self.stats.deleted += deleted
        self._logger.log(
            logging.INFO if deleted else logging.DEBUG,
            "retention: deleted %d %s older than %s (before %s)",
            deleted, self.what, _period(self.keep), horizon.isoformat(timespec="seconds"),
            extra={"deleted": deleted, "retention_s": self.keep.total_seconds()},
        )  # fmt: skip
        return deleted

    async def run(self) -> None:
        """Until stopped; a failed run is logged and retried at the next, never fatal."""
        while not self._stop.is_set():
            try:
                await self.run_once()
            except DATABASE_UNAVAILABLE as exc:
                self._failed(exc)
                self._logger.warning(
                    "retention of %s failed (database unavailable: %s); retrying in %.0f s",
                    self.what, str(exc) or type(exc).__name__, self.interval_s,
                )  # fmt: skip
            except Exception as exc:  # a bug or a refused statement must not end the task
                self._failed(exc)
                self._logger.exception(
                    "retention of %s failed; retrying in %.0f s", self.what, self.interval_s
                )
            else:
                self.stats.last_error = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.interval_s)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[RetentionTask]:
        """The task in the background until the block ends; then a run in flight finishes
        its batch (cancelled past a grace period) and the task ends."""
        self._stop.clear()
        task = asyncio.create_task(self.run(), name=f"retention: {self.what}")
        try:
            yield self
        finally:
            self._stop.set()
            try:
                await asyncio.wait_for(task, _STOP_GRACE_S)
            except TimeoutError:
                self._logger.warning("retention of %s cancelled at shutdown", self.what)

    def _failed(self, exc: Exception) -> None:
        self.stats.failures += 1
        self.stats.last_error = f"{type(exc).__name__}: {exc}"


def _period(period: timedelta) -> str:
    """`7d`, `36h` or `90m`: a period as the settings write it."""
    seconds = int(period.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
