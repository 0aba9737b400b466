"""A service's pool, a bounded wait for its connections, and a fast refusal while it is away.

When PostgreSQL goes away, connecting can take seconds (a name that no longer
resolves, a TCP connect into the void), and every request would wait its full
acquire timeout before answering 503 — a burst of them then holds the service
for minutes. So after a failure the database counts as away for
`retry_after` seconds: requests are refused at once with `DatabaseAway` (one of
`DATABASE_UNAVAILABLE`, so services answer it 503), then a single request
probes; the others keep being refused until the probe gets a connection.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from fastapi import Depends, Request

from ._db import DATABASE_UNAVAILABLE

HEALTH_TIMEOUT_S = 1.0
# A connection that broke under a query: the database (or the way to it) is gone.
_CONNECTION_LOST: tuple[type[Exception], ...] = (
    ConnectionError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.PostgresConnectionError,
)


class DatabaseAway(ConnectionError):
    """Refused without trying: the last attempt to reach the database failed moments ago."""


def unavailable_reason(exc: BaseException) -> str:
    """Why the database could not be used, in a few words (a timeout's message is empty)."""
    if isinstance(exc, DatabaseAway):
        return "the last attempt to reach it failed moments ago"
    if isinstance(exc, TimeoutError) and not str(exc):
        return "no connection or answer in time"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class Database:
    """`connection()` checks out a pool connection within `acquire_timeout` seconds.

    A bounded wait turns a saturated or stalled database into a prompt 503
    instead of requests piling up behind `pool.acquire()`.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        acquire_timeout: float,
        retry_after: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pool = pool
        self.acquire_timeout = acquire_timeout
        self.retry_after = retry_after
        self._clock = clock
        self._away_until: float | None = None  # None: reachable as far as we know
        self._probing = False

    @property
    def away(self) -> bool:
        """Whether the last attempt failed (requests are being refused or a probe is out)."""
        return self._away_until is not None

    async def problem(self) -> str | None:
        """For `/health`: None when a `SELECT 1` answers within a second, else why not."""
        try:
            await asyncio.wait_for(self.pool.fetchval("SELECT 1"), HEALTH_TIMEOUT_S)
        except Exception as exc:  # health reports every failure rather than raising it
            return unavailable_reason(exc)
        return None

    async def status(self) -> str:
        """For `/health`'s checks: "ok", or "unavailable: <why>"."""
        problem = await self.problem()
        return "ok" if problem is None else f"unavailable: {problem}"

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[PoolConnectionProxy]:
        probe = self._admit()
        checked_out = False
        try:
            async with self.pool.acquire(timeout=self.acquire_timeout) as conn:
                checked_out = True
                self._away_until = None  # it answers
                yield conn
        except DATABASE_UNAVAILABLE as exc:
            # Away when no connection came, or the one we had was lost; not when a query
            # of the caller's ran past its command_timeout (a slow query, a held lock).
            if not checked_out or isinstance(exc, _CONNECTION_LOST):
                self._away_until = self._clock() + self.retry_after
            raise
        finally:
            if probe:
                self._probing = False

    def _admit(self) -> bool:
        """Raise `DatabaseAway` unless this request may try; True when it is the probe."""
        if self._away_until is None:
            return False
        if self._probing or self._clock() < self._away_until:
            raise DatabaseAway("the database is unreachable; retry shortly")
        self._probing = True
        return True


# async: a plain `def` dependency runs in the threadpool on every request
async def get_database(request: Request) -> Database:
    """The service's `Database`, which its lifespan yields as state `db` (`create_service_app`)."""
    db: Database = request.state.db
    return db


async def database_check(request: Request) -> str:
    """The `database` check of `/health`."""
    return await (await get_database(request)).status()


DatabaseDep = Annotated[Database, Depends(get_database)]
