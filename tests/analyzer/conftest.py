"""The analyzer's side of the suite's PostgreSQL and Redis: its schema, a pool, a client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from aiops_telemetry import apply_migrations


@pytest.fixture
async def conn(db: asyncpg.Connection) -> asyncpg.Connection:
    """The test database with the telemetry and analyzer schemas applied."""
    await apply_migrations(db, component="analyzer", package="analyzer")
    return db


@pytest.fixture
def pool_options() -> dict[str, Any]:
    """What `pool` is created with besides the URL; a module overrides it for other ones."""
    return {"min_size": 1, "max_size": 4}


@pytest.fixture
async def pool(
    conn: asyncpg.Connection, database_url: str, pool_options: dict[str, Any]
) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the test database, as a replica's cycles and desk share one; `conn` first,
    so the schemas are there (and whatever a module's `conn` prepares)."""
    pool = await asyncpg.create_pool(database_url, **pool_options)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A client of the test Redis with the analyzer's short timeouts: a stopped Redis fails
    fast instead of hanging the test."""
    client = Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
    try:
        yield client
    finally:
        await client.aclose()
