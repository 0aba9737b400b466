"""Instrumented PostgreSQL: business queries become client spans with peer `postgres`."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from typing import Any, TypeAlias

import asyncpg
from asyncpg.connection import LoggedQuery
from asyncpg.pool import PoolConnectionProxy

from ._sink import TelemetrySink
from ._span import CLIENT, describe_error, span_row, wall_clock
from ._startup import database_login_error
from .context import current_span, new_span_id

logger = logging.getLogger("aiops_telemetry.db")

PEER = "postgres"

# A connection of its own, or one checked out of a pool.
Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy

# Failures of the database itself (down, unreachable, too slow), as opposed to a
# query's own error: a service answers them 503, "retry shortly".
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
)

# Transaction control is bookkeeping, not work worth a span of its own.
_SKIPPED_VERBS = frozenset({"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "START", "END"})
_VERB_RE = re.compile(r"\s*(?:WITH\b.*?\)\s*)?([A-Za-z]+)", re.DOTALL)
_TARGET_RE = re.compile(r"\b(?:FROM|INTO|UPDATE|TABLE)\s+([A-Za-z_][A-Za-z0-9_.]*)", re.IGNORECASE)


# Business code runs a handful of distinct statements; parse each once.
@functools.lru_cache(maxsize=512)
def statement_label(query: str) -> str:
    """A bounded label for a statement: its verb and first table (`UPDATE inventory_stock`)."""
    verb_match = _VERB_RE.match(query)
    verb = verb_match.group(1).upper() if verb_match else "SQL"
    target = _TARGET_RE.search(query)
    return f"{verb} {target.group(1)}" if target else verb


class QuerySpans:
    """An asyncpg query logger that records each query as a client span."""

    def __init__(self, *, sink: TelemetrySink, service_name: str) -> None:
        self._sink = sink
        self._service_name = service_name
        self._skipped_queries: set[str] = set()

    def watch(self, conn: asyncpg.Connection) -> None:
        """Report `conn`'s queries, except the reset the pool runs on release."""
        self._skipped_queries.add(conn.get_reset_query())
        conn.add_query_logger(self)

    def __call__(self, record: LoggedQuery) -> None:
        # asyncpg schedules loggers with call_soon, which copies the caller's
        # context: current_span is still the request that ran the query.
        parent = current_span.get()
        if parent is None or not parent.recorded or record.query in self._skipped_queries:
            return
        label = statement_label(record.query)
        if label in _SKIPPED_VERBS:
            return
        exc = record.exception
        self._sink.record(
            span_row(
                timestamp=wall_clock(time.time() - record.elapsed),
                service_name=self._service_name,
                endpoint=label,
                method="SQL",
                status_code=None,
                latency_ms=record.elapsed * 1000.0,
                error_message=describe_error(exc) if exc else None,
                trace_id=parent.trace_id,
                span_id=new_span_id(),
                parent_span_id=parent.span_id,
                kind=CLIENT,
                peer_service=PEER,
                error_kind=_error_kind(exc) if exc else None,
            )
        )


def _error_kind(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, asyncpg.PostgresError):
        return "db_error"
    return "connection_error"


async def wait_for_pool(
    dsn: str, *, password: str | None = None, wait: float = 30.0, **pool_options: Any
) -> asyncpg.Pool:
    """An asyncpg pool, waiting up to `wait` seconds for PostgreSQL to accept connections.

    Services and their database usually start together, so the first
    attempts may be refused. A refused login is final: `StartupError`.
    """
    deadline = time.monotonic() + wait
    delay = 0.2
    while True:
        try:
            pool: asyncpg.Pool = await asyncpg.create_pool(dsn, password=password, **pool_options)
        except asyncpg.InvalidAuthorizationSpecificationError as exc:
            raise database_login_error(exc) from exc
        except (OSError, TimeoutError, asyncpg.CannotConnectNowError) as exc:
            if time.monotonic() + delay > deadline:
                raise RuntimeError(
                    f"PostgreSQL did not accept connections within {wait:.0f}s ({exc}); "
                    "is it running, and is AIOPS_DATABASE_URL right?"
                ) from exc
            logger.warning("waiting for PostgreSQL: %s", exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        else:
            return pool


async def create_pool(
    dsn: str,
    *,
    password: str | None = None,
    sink: TelemetrySink,
    service_name: str,
    wait: float = 30.0,
    **pool_options: Any,
) -> asyncpg.Pool:
    """An asyncpg pool whose connections report every query to the sink."""
    spans = QuerySpans(sink=sink, service_name=service_name)

    async def instrument(conn: asyncpg.Connection) -> None:
        spans.watch(conn)

    return await wait_for_pool(dsn, password=password, wait=wait, init=instrument, **pool_options)


async def close_pool(pool: asyncpg.Pool, timeout: float = 10.0) -> None:
    """Close gracefully within `timeout` seconds, else terminate: shutdown never hangs on a
    connection stuck in a query, and never leaves one open."""
    try:
        await asyncio.wait_for(pool.close(), timeout)
    except TimeoutError:
        logger.warning("the database pool did not close within %.0f s; terminated", timeout)
        pool.terminate()
