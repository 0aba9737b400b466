"""The telemetry table partitioned by day (migration 0004) on a real PostgreSQL: converting a
table that holds rows while sinks write, partitions made ahead, stragglers never refused."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from aiops_telemetry import (
    COLUMNS,
    SpanRow,
    TelemetrySink,
    apply_migrations,
    load_migrations,
)
from tests.support.telemetry_rows import connection, connector, span

DAY = timedelta(days=1)


def spans(at: datetime, n: int = 1, *, service: str = "partition-test") -> list[SpanRow]:
    return [span(service, at=at, latency_ms=1.0) for _ in range(n)]


@pytest.fixture
async def fresh(fresh_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    async with connection(fresh_database_url) as conn:
        yield conn


async def unpartitioned_schema(conn: asyncpg.Connection) -> None:
    """The table as migrations 0001-0003 left it, recorded as applied."""
    await conn.execute(
        "CREATE TABLE schema_migrations (component text, version integer, name text, "
        "applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version))"
    )
    for migration in load_migrations("aiops_telemetry"):
        if migration.version < 4:
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (component, version, name) "
                "VALUES ('telemetry', $1, $2)",
                migration.version,
                migration.name,
            )


async def partition_counts(conn: asyncpg.Connection) -> dict[str, int]:
    rows = await conn.fetch(
        "SELECT tableoid::regclass::text AS part, count(*) AS n FROM telemetry GROUP BY 1"
    )
    return {row["part"]: row["n"] for row in rows}


async def test_converting_a_table_with_rows_under_writes_keeps_every_row_once(
    fresh: asyncpg.Connection, fresh_database_url: str
) -> None:
    """Rows before + rows the sinks wrote meanwhile = rows after; none dropped, none twice."""
    await unpartitioned_schema(fresh)
    now = datetime.now(UTC)
    before = [
        *spans(now - 3 * DAY, 20_000),
        *spans(now - timedelta(hours=1), 20_000),
        *spans(datetime(2019, 5, 1, tzinfo=UTC), 10),  # long before any partition
        *spans(now + 1 * DAY, 10),  # a clock running ahead: tomorrow's partition
        *spans(now + 30 * DAY, 10),  # beyond every partition: the default one
    ]
    await fresh.copy_records_to_table("telemetry", records=before, columns=COLUMNS)
    old_max_id = await fresh.fetchval("SELECT max(id) FROM telemetry")

    sinks = [
        TelemetrySink(connector(fresh_database_url, timeout=2), flush_interval=0.02)
        for _ in range(2)
    ]
    stop = asyncio.Event()

    async def write(sink: TelemetrySink) -> int:
        recorded = 0
        while not stop.is_set():
            for row in spans(datetime.now(UTC), 20, service="writer"):
                sink.record(row)
            recorded += 20
            await asyncio.sleep(0.002)
        return recorded

    async def written_at_least(n: int) -> None:
        while sum(s.stats().written for s in sinks) < n:
            await asyncio.sleep(0.01)

    for sink in sinks:
        await sink.start()
    writers = [asyncio.create_task(write(sink)) for sink in sinks]
    await asyncio.wait_for(written_at_least(2_000), 30)
    migrating: asyncpg.Connection = await asyncpg.connect(fresh_database_url)
    try:
        assert 4 in await apply_migrations(
            migrating, component="telemetry", package="aiops_telemetry"
        )
    finally:
        await migrating.close()
    written_then = sum(s.stats().written for s in sinks)
    await asyncio.wait_for(written_at_least(written_then + 2_000), 30)
    stop.set()
    recorded = sum(await asyncio.gather(*writers))
    for sink in sinks:
        await sink.close()

    assert [s.stats().dropped for s in sinks] == [0, 0]
    assert sum(s.stats().written for s in sinks) == recorded
    assert (
        await fresh.fetchval("SELECT relkind::text FROM pg_class WHERE relname = 'telemetry'")
        == "p"
    )
    counted = await fresh.fetchrow("SELECT count(*), count(DISTINCT id), max(id) FROM telemetry")
    assert counted is not None
    total, distinct_ids, newest_id = counted
    assert total == distinct_ids == len(before) + recorded
    assert newest_id > old_max_id  # ids carry on from the old table's
    # Today is the old table's; the sinks' rows went there before and after.
    tomorrow = f"telemetry_p{(now + DAY).strftime('%Y%m%d')}"
    assert await partition_counts(fresh) == {
        "telemetry_legacy": 40_010 + recorded,
        tomorrow: 10,
        "telemetry_default": 10,  # only the rows a month ahead wait there
    }


async def test_a_fresh_database_gets_day_partitions_ahead_and_a_default(
    fresh: asyncpg.Connection,
) -> None:
    await apply_migrations(fresh, component="telemetry", package="aiops_telemetry")
    parts = await fresh.fetch("SELECT * FROM aiops_partitions('telemetry')")
    days = [p for p in parts if not p["is_default"]]
    assert [p["is_default"] for p in parts].count(True) == 1
    assert all(p["upper"] - p["lower"] == DAY for p in days)
    assert all(a["upper"] == b["lower"] for a, b in itertools.pairwise(days))
    assert days[0]["lower"] <= datetime.now(UTC)
    assert days[-1]["upper"] >= datetime.now(UTC) + 2 * DAY
    assert await fresh.fetchval("SELECT to_regclass('telemetry_legacy')") is None


async def test_rows_outside_every_partition_are_kept_and_moved_when_their_day_comes(
    fresh: asyncpg.Connection,
) -> None:
    """Early and late rows are never refused; adding partitions moves each into its day
    (a past one too, so retention drops it whole), and rows older than `keep_from` go with
    the rebuilt default, not by DELETE."""
    await apply_migrations(fresh, component="telemetry", package="aiops_telemetry")
    now = datetime.now(UTC)
    rows = [
        *spans(now + 10 * DAY, 7),
        *spans(now - 400 * DAY, 3),
        *spans(now - 5 * DAY, 4),  # a backfill, from before every partition
        *spans(now, 5),
    ]
    await fresh.copy_records_to_table("telemetry", records=rows, columns=COLUMNS)
    assert (await partition_counts(fresh))["telemetry_default"] == 14

    created = await fresh.fetchval(
        "SELECT aiops_add_partitions('telemetry', interval '1 day', interval '12 days', $1)",
        now - 30 * DAY,
    )
    assert created == 11  # from the 3rd day ahead to the 12th, and the backfill's day
    counts = await partition_counts(fresh)
    assert counts[f"telemetry_p{(now + 10 * DAY).strftime('%Y%m%d')}"] == 7
    assert counts[f"telemetry_p{(now - 5 * DAY).strftime('%Y%m%d')}"] == 4
    assert "telemetry_default" not in counts  # the 400-day-old rows expired with it
    assert sum(counts.values()) == 16
    # Again: nothing left to create or move.
    again = "SELECT aiops_add_partitions('telemetry', interval '1 day', interval '12 days')"
    assert await fresh.fetchval(again) == 0


async def test_the_migrations_apply_again_by_hand(fresh: asyncpg.Connection) -> None:
    """`psql -f` of each file in turn on a converted database changes nothing."""
    await apply_migrations(fresh, component="telemetry", package="aiops_telemetry")
    await fresh.copy_records_to_table(
        "telemetry", records=spans(datetime.now(UTC), 5), columns=COLUMNS
    )
    before = await fresh.fetch("SELECT * FROM aiops_partitions('telemetry')")
    for migration in load_migrations("aiops_telemetry"):
        await fresh.execute(migration.sql)
    assert await fresh.fetch("SELECT * FROM aiops_partitions('telemetry')") == before
    assert await fresh.fetchval("SELECT count(*) FROM telemetry") == 5


async def test_a_partition_must_span_some_time(fresh: asyncpg.Connection) -> None:
    await apply_migrations(fresh, component="telemetry", package="aiops_telemetry")
    with pytest.raises(asyncpg.RaiseError, match="must span some time"):
        await fresh.execute(
            "SELECT aiops_add_partitions('telemetry', interval '0', interval '1 day')"
        )
