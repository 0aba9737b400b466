"""Retention of the shop's own tables: payment's authorizations and checkout's done voids go
once older than their retention, in batches; pending voids stay whatever their age.

The deletions are called directly with a given horizon (or `run_once(now=...)`); one test
per service shows the lifespan's task doing it on its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from pydantic import ValidationError

from aiops_telemetry import Database, apply_migrations
from aiops_telemetry.retention import RetentionTask
from checkout.app import create_app as create_checkout
from checkout.retention import retention_task as void_retention
from checkout.settings import CheckoutSettings
from checkout.voids import VoidLedger
from payment.app import create_app as create_payment
from payment.retention import retention_task as payment_retention
from payment.settings import PaymentSettings
from tests.support.asgi import lifespan_client
from tests.support.polling import eventually

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)

Target = asyncpg.Pool | asyncpg.Connection


@pytest.fixture
async def pool(fresh_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A database of its own with payment's and checkout's tables."""
    pool: asyncpg.Pool = await asyncpg.create_pool(fresh_database_url, min_size=1, max_size=2)
    async with pool.acquire() as conn:
        await apply_migrations(conn, component="payment", package="payment")
        await apply_migrations(conn, component="checkout", package="checkout")
    try:
        yield pool
    finally:
        await pool.close()


async def add_authorization(
    pool: Target, payment_id: str, created_at: datetime, *, voided: bool = False
) -> None:
    await pool.execute(
        "INSERT INTO payment_authorizations (id, status, amount, currency, created_at, voided_at) "
        "VALUES ($1, $2, 10, 'USD', $3, $4)",
        payment_id,
        "voided" if voided else "authorized",
        created_at,
        created_at + timedelta(seconds=1) if voided else None,
    )


async def add_void(
    pool: Target, payment_id: str, created_at: datetime, voided_at: datetime | None
) -> None:
    await pool.execute(
        "INSERT INTO checkout_payment_voids (payment_id, order_id, reason, status, created_at, "
        "voided_at) VALUES ($1, 'ord_' || $1, 'inventory: sold out', $2, $3, $4)",
        payment_id,
        "pending" if voided_at is None else "voided",
        created_at,
        voided_at,
    )


async def ids(pool: asyncpg.Pool, query: str) -> set[str]:
    return {row[0] for row in await pool.fetch(query)}


def database(pool: asyncpg.Pool) -> Database:
    return Database(pool, acquire_timeout=5)


async def test_payment_deletes_authorizations_past_retention_voided_or_not(
    pool: asyncpg.Pool,
) -> None:
    """An authorization past the retention has lapsed: it goes whether voided or not; so
    does a voided order (a late authorization it refuses comes seconds late, not days)."""
    await add_authorization(pool, "pay_old_authorized", NOW - 8 * DAY)
    await add_authorization(pool, "pay_old_voided", NOW - 8 * DAY, voided=True)
    await add_authorization(pool, "pay_new_authorized", NOW - 6 * DAY)
    await add_authorization(pool, "pay_new_voided", NOW - timedelta(hours=1), voided=True)
    await pool.execute(
        "INSERT INTO payment_order_voids (order_id, voided_at) "
        "VALUES ('ord_old', $1), ('ord_new', $2)",
        NOW - 8 * DAY,
        NOW - DAY,
    )
    task = payment_retention(database(pool), PaymentSettings(payment_retention="7d"))
    assert await task.run_once(now=NOW) == 3
    assert await ids(pool, "SELECT id FROM payment_authorizations") == {
        "pay_new_authorized",
        "pay_new_voided",
    }
    assert await ids(pool, "SELECT order_id FROM payment_order_voids") == {"ord_new"}
    assert await task.run_once(now=NOW) == 0


async def test_checkout_deletes_done_voids_past_retention_and_never_a_pending_one(
    pool: asyncpg.Pool,
) -> None:
    """A done void goes by when it was done; a pending void stays, however old."""
    await add_void(pool, "pay_done_long_ago", NOW - 9 * DAY, NOW - 8 * DAY)
    await add_void(pool, "pay_done_lately", NOW - 30 * DAY, NOW - DAY)  # pending for weeks
    await add_void(pool, "pay_done_now", NOW - timedelta(minutes=5), NOW - timedelta(minutes=4))
    await add_void(pool, "pay_pending_for_a_year", NOW - 365 * DAY, None)
    await add_void(pool, "pay_pending", NOW - timedelta(minutes=1), None)
    task = void_retention(database(pool), CheckoutSettings(void_retention="36h"))
    assert await task.run_once(now=NOW) == 1
    assert await ids(pool, "SELECT payment_id FROM checkout_payment_voids") == {
        "pay_done_lately",
        "pay_done_now",
        "pay_pending_for_a_year",
        "pay_pending",
    }
    assert await task.run_once(now=NOW + 365 * DAY) == 2  # the done ones, in time
    assert await VoidLedger(database(pool)).pending_count() == 2


async def test_a_backlog_larger_than_one_batch_is_all_deleted(pool: asyncpg.Pool) -> None:
    """250 expired rows, batches of 100: three batches, and none of the recent rows."""
    await pool.execute(
        "INSERT INTO payment_authorizations (id, amount, currency, created_at) "
        "SELECT 'pay_old_' || i, 1, 'USD', $1::timestamptz - i * interval '1 minute' "
        "FROM generate_series(1, 250) AS i",
        NOW - 8 * DAY,
    )
    await pool.execute(
        "INSERT INTO checkout_payment_voids (payment_id, order_id, reason, status, voided_at) "
        "SELECT 'pay_old_' || i, 'ord_' || i, 'test', 'voided', "
        "$1::timestamptz - i * interval '1 minute' FROM generate_series(1, 250) AS i",
        NOW - 8 * DAY,
    )
    await add_authorization(pool, "pay_recent", NOW - DAY)
    await add_void(pool, "pay_recent", NOW - DAY, NOW - DAY)
    db = database(pool)
    payments = payment_retention(db, PaymentSettings(payment_retention="7d"), batch_size=100)
    assert await payments.run_once(now=NOW) == 250
    voids = void_retention(db, CheckoutSettings(void_retention="7d"), batch_size=100)
    assert await voids.run_once(now=NOW) == 250
    assert await ids(pool, "SELECT id FROM payment_authorizations") == {"pay_recent"}
    assert await ids(pool, "SELECT payment_id FROM checkout_payment_voids") == {"pay_recent"}


async def test_a_batch_reads_the_time_index(pool: asyncpg.Pool) -> None:
    """Each batch finds its rows through an index on the time column, not a table scan."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")  # a tiny table: insist
        plans = [
            "\n".join(
                row[0]
                for row in await conn.fetch(
                    f"EXPLAIN SELECT 1 FROM {table} WHERE {where} $1 ORDER BY {column} LIMIT 10",
                    NOW,
                )
            )
            for table, column, where in [
                ("payment_authorizations", "created_at", "created_at <"),
                ("payment_order_voids", "voided_at", "voided_at <"),
                ("checkout_payment_voids", "voided_at", "status = 'voided' AND voided_at <"),
            ]
        ]
    assert "payment_authorizations_created" in plans[0]
    assert "payment_order_voids_voided" in plans[1]
    assert "checkout_payment_voids_done" in plans[2]


@pytest.mark.parametrize(
    ("variable", "settings", "field"),
    [
        ("AIOPS_PAYMENT_RETENTION", PaymentSettings, "payment_retention"),
        ("AIOPS_VOID_RETENTION", CheckoutSettings, "void_retention"),
    ],
)
def test_retention_settings_read_as_durations(
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    settings: type[PaymentSettings | CheckoutSettings],
    field: str,
) -> None:
    """7 days by default; `7d`, `36h`, `90m`; a bad value or under an hour, a clear error."""
    monkeypatch.delenv(variable, raising=False)
    assert getattr(settings(), field) == timedelta(days=7)
    readings = {"7d": 7 * DAY, "36h": timedelta(hours=36), "90m": timedelta(minutes=90)}
    for written, meant in readings.items():
        monkeypatch.setenv(variable, written)
        assert getattr(settings(), field) == meant
    monkeypatch.setenv(variable, "a week")
    not_a_duration = "'a week' is not a duration: write it as 7d, 36h or 90m"
    with pytest.raises(ValidationError, match=rf"{field}\n.*{not_a_duration}"):
        settings()
    monkeypatch.setenv(variable, "10m")
    with pytest.raises(ValidationError, match=rf"{field}\n.*greater than or equal to 1 hour"):
        settings()


async def test_a_failing_run_is_logged_and_the_next_one_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The database away, then a bug: each run logged and retried; the third deletes, at
    INFO; the task stops when its block ends."""
    caplog.set_level(logging.DEBUG, logger="test.retention")
    failures: list[Exception] = [ConnectionRefusedError("database down"), RuntimeError("bug")]
    horizons: list[datetime] = []

    async def purge(before: datetime, stop: asyncio.Event) -> int:
        horizons.append(before)
        if failures:
            raise failures.pop(0)
        return 3

    task = RetentionTask(
        purge,
        what="rows",
        keep=timedelta(hours=36),
        interval_s=0.01,
        logger=logging.getLogger("test.retention"),
    )
    async with task.running():

        async def deleted() -> bool:
            return task.stats.deleted >= 3

        await eventually(deleted, within=10, what="a run after two failures", every=0.01)
    assert (task.stats.failures, task.stats.last_error) == (2, None)
    assert horizons[0] < datetime.now(UTC) - timedelta(hours=36) + timedelta(seconds=5)
    records = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert (
        logging.WARNING,
        "retention of rows failed (database unavailable: database down); retrying in 0 s",
    ) in records
    assert (logging.ERROR, "retention of rows failed; retrying in 0 s") in records
    infos = [message for level, message in records if level == logging.INFO]
    assert infos
    assert all(m.startswith("retention: deleted 3 rows older than 36h (before ") for m in infos)
    runs = task.stats.runs
    await asyncio.sleep(0.05)
    assert task.stats.runs == runs  # stopped


@pytest.mark.parametrize("service", ["payment", "checkout"])
async def test_the_lifespan_runs_retention_until_shutdown(
    fresh_database_url: str, caplog: pytest.LogCaptureFixture, service: str
) -> None:
    """The service in-process with a tiny interval: an expired row inserted while it runs
    is gone soon after, with an INFO line saying so."""
    caplog.set_level(logging.INFO, logger=f"{service}.retention")
    if service == "payment":
        app = create_payment(
            PaymentSettings(
                database_url=fresh_database_url, payment_retention_interval=0.05, work_ms=0
            )
        )
        table, key = "payment_authorizations", "id"
    else:
        app = create_checkout(
            CheckoutSettings(
                database_url=fresh_database_url,
                void_retention_interval=0.05,
                payment_url="http://127.0.0.1:9",
                inventory_url="http://127.0.0.1:9",
            )
        )
        table, key = "checkout_payment_voids", "payment_id"
    old = datetime.now(UTC) - 8 * DAY
    conn: asyncpg.Connection = await asyncpg.connect(fresh_database_url)
    try:
        async with lifespan_client(app):
            if service == "payment":
                await add_authorization(conn, "pay_expired", old)
            else:
                await add_void(conn, "pay_expired", old, old)

            async def gone() -> bool:
                query = f"SELECT count(*) FROM {table} WHERE {key} = $1"
                left: int = await conn.fetchval(query, "pay_expired")
                return left == 0

            await eventually(gone, within=15, what="the lifespan's retention run", every=0.05)
    finally:
        await conn.close()
    assert any(
        r.getMessage().startswith("retention: deleted 1 ") and r.levelno == logging.INFO
        for r in caplog.records
    )
