"""Fixtures: PostgreSQL, Redis and Chromium in containers for the session (tests/compose.yaml),
real service processes on loopback."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import asyncpg
import pytest

from aiops_telemetry import apply_migrations

from .support.compose import require_compose
from .support.containers import Browser, ContainerPostgres, ContainerRedis, Containers
from .support.processes import ServiceProcess


@pytest.fixture(scope="session")
def containers() -> Iterator[Containers]:
    """The session's compose project; each service in it starts on first use."""
    require_compose()
    project = Containers()
    try:
        yield project
    finally:
        project.down()


@pytest.fixture(scope="session")
def postgres(containers: Containers) -> ContainerPostgres:
    try:
        return containers.postgres()
    except RuntimeError as exc:
        pytest.exit(f"cannot start the test PostgreSQL: {exc}", returncode=3)


@pytest.fixture(scope="session")
def database_url(postgres: ContainerPostgres) -> str:
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


@pytest.fixture
async def fresh_database_url(database_url: str) -> AsyncIterator[str]:
    """An empty database of its own, dropped afterwards: for tests that change what every
    test shares (the table's partitions, retention) or need a schema from before a migration."""
    name = f"fresh_{uuid.uuid4().hex[:10]}"
    admin: asyncpg.Connection = await asyncpg.connect(database_url)
    await admin.execute(f"CREATE DATABASE {name}")
    try:
        yield database_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()


@pytest.fixture(scope="session")
def redis_server(containers: Containers) -> ContainerRedis:
    try:
        return containers.redis()
    except RuntimeError as exc:
        pytest.exit(f"cannot start the test Redis: {exc}", returncode=3)


@pytest.fixture
def redis_url(redis_server: ContainerRedis) -> str:
    """The test Redis, running (a previous test may have stopped it) and empty."""
    return redis_server.reset()


@pytest.fixture(scope="session")
def browser(containers: Containers) -> Browser:
    """Headless Chromium's container, for the dashboard tests."""
    try:
        return containers.browser()
    except RuntimeError as exc:
        pytest.fail(f"cannot start the browser container (tests/browser/Dockerfile): {exc}")


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
