"""Fixtures: a real PostgreSQL and Redis for the session, real service processes on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import asyncpg
import pytest

from aiops_telemetry import apply_migrations

from .support.postgres import LocalPostgres
from .support.processes import ServiceProcess, free_port
from .support.redis import LocalRedis


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    try:
        server = LocalPostgres(free_port())
        server.init()
    except RuntimeError as exc:
        pytest.exit(f"cannot start the test PostgreSQL: {exc}", returncode=3)
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def database_url(postgres: LocalPostgres) -> str:
    return postgres.dsn


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the test database, with the telemetry schema applied."""
    conn: asyncpg.Connection = await asyncpg.connect(database_url)
    await apply_migrations(conn, component="telemetry", package="aiops_telemetry")
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[LocalRedis]:
    try:
        server = LocalRedis(free_port())
        server.start()
    except RuntimeError as exc:
        pytest.exit(f"cannot start the test Redis: {exc}", returncode=3)
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def redis_url(redis_server: LocalRedis) -> str:
    """The test Redis, running (a previous test may have stopped it) and empty."""
    return redis_server.reset()


@dataclass(frozen=True)
class Shop:
    checkout: ServiceProcess
    payment: ServiceProcess
    inventory: ServiceProcess


def service_env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        "AIOPS_DATABASE_URL": database_url,
        "AIOPS_TELEMETRY_FLUSH_INTERVAL": "0.1",
        **extra,
    }


@pytest.fixture(scope="session")
def shop(database_url: str) -> Iterator[Shop]:
    """The three services as separate processes, calling each other over HTTP."""
    env = service_env(database_url)
    started: list[ServiceProcess] = []
    try:
        payment = ServiceProcess("payment.app:create_app", env).start()
        started.append(payment)
        inventory = ServiceProcess("inventory.app:create_app", env).start()
        started.append(inventory)
        checkout = ServiceProcess(
            "checkout.app:create_app",
            {**env, "AIOPS_PAYMENT_URL": payment.url, "AIOPS_INVENTORY_URL": inventory.url},
        ).start()
        started.append(checkout)
        yield Shop(checkout=checkout, payment=payment, inventory=inventory)
    finally:
        for process in reversed(started):
            process.stop()
