"""`aiops_telemetry.Database` against a real PostgreSQL that goes away and comes back:
refused at once while away, one probe at a time, back to normal once a probe connects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from aiops_telemetry import DATABASE_UNAVAILABLE, Database, DatabaseAway
from tests.support.containers import ContainerPostgres, Containers

RETRY_AFTER = 30.0  # seconds of the test's own clock: only `advance` moves it


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module")
def outage_postgres(containers: Containers) -> Iterator[ContainerPostgres]:
    postgres = containers.postgres("outage-postgres")
    yield postgres
    postgres.start()  # whatever a failed test left, the next module finds it running


@pytest.fixture
async def pool(outage_postgres: ContainerPostgres) -> AsyncIterator[asyncpg.Pool]:
    outage_postgres.start()
    pool = await asyncpg.create_pool(outage_postgres.dsn, min_size=1, max_size=2, timeout=5)
    yield pool
    pool.terminate()


async def select_one(db: Database) -> int:
    async with db.connection() as conn:
        value: int = await conn.fetchval("SELECT 1")
        return value


async def test_away_refuses_without_trying_until_a_probe_connects(
    outage_postgres: ContainerPostgres, pool: asyncpg.Pool
) -> None:
    postgres = outage_postgres
    clock = Clock()
    db = Database(pool, acquire_timeout=5, retry_after=RETRY_AFTER, clock=clock)
    assert await select_one(db) == 1
    assert not db.away

    postgres.stop()
    with pytest.raises(DATABASE_UNAVAILABLE) as first:
        await select_one(db)
    assert not isinstance(first.value, DatabaseAway)  # it tried, and failed for real
    assert db.away
    with pytest.raises(DatabaseAway):  # within retry_after: refused without trying
        await select_one(db)

    clock.advance(RETRY_AFTER)
    # Two requests at once: the first probes (and fails, it is still down), the other is
    # refused while that probe is out.
    outcomes = await asyncio.gather(select_one(db), select_one(db), return_exceptions=True)
    assert isinstance(outcomes[0], DATABASE_UNAVAILABLE)
    assert not isinstance(outcomes[0], DatabaseAway)
    assert isinstance(outcomes[1], DatabaseAway)

    postgres.start()
    with pytest.raises(DatabaseAway):  # the failed probe started a new wait
        await select_one(db)
    clock.advance(RETRY_AFTER)
    assert await select_one(db) == 1  # the probe connects
    assert not db.away
    assert await asyncio.gather(select_one(db), select_one(db)) == [1, 1]


async def test_a_query_error_is_not_the_database_being_away(pool: asyncpg.Pool) -> None:
    db = Database(pool, acquire_timeout=5, retry_after=RETRY_AFTER, clock=Clock())
    with pytest.raises(asyncpg.UndefinedTableError):
        async with db.connection() as conn:
            await conn.fetchval("SELECT * FROM no_such_table")
    assert not db.away
    assert await select_one(db) == 1


async def test_a_query_past_its_timeout_is_not_the_database_being_away(
    outage_postgres: ContainerPostgres,
) -> None:
    """A slow query (or a held lock) times out the caller alone; the next request still tries."""
    pool = await asyncpg.create_pool(outage_postgres.dsn, min_size=1, max_size=2, timeout=5)
    try:
        db = Database(pool, acquire_timeout=5, retry_after=RETRY_AFTER, clock=Clock())
        with pytest.raises(TimeoutError):
            async with db.connection() as conn:
                await conn.execute("SELECT pg_sleep(5)", timeout=0.2)
        assert not db.away
        assert await select_one(db) == 1
    finally:
        pool.terminate()
