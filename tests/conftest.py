"""Fixtures: PostgreSQL, Redis and Chromium in containers for the session (tests/compose.yaml),
real service processes on loopback."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TypeVar

import asyncpg
import pytest

from aiops_telemetry.logs import ACCESS_LOGGER

from .support.compose import require_compose
from .support.containers import Browser, ContainerPostgres, ContainerRedis, Containers
from .support.processes import ServiceProcess
from .support.telemetry_rows import schema_connection

T = TypeVar("T")


# Loggers `configure_logging` changes besides the root (aiops_telemetry.logs).
CONFIGURED_LOGGERS = (
    *("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"),
    *("httpx", "httpcore", "watchfiles", ACCESS_LOGGER),
)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Any test that builds an app configures the process's logging; put it back as it was."""
    saved = [
        (logger, logger.handlers[:], logger.level, logger.propagate)
        for logger in (logging.getLogger(), *map(logging.getLogger, CONFIGURED_LOGGERS))
    ]
    try:
        yield
    finally:
        for logger, handlers, level, propagate in saved:
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate


@pytest.fixture(scope="session")
def containers() -> Iterator[Containers]:
    """The session's compose project; each service in it starts on first use."""
    require_compose()
    with Containers() as project:
        yield project


def needed(what: str, start: Callable[[], T]) -> T:
    """What `start` started: a service no test of the session can run without, so the
    session ends, saying why, if it does not start."""
    try:
        return start()
    except RuntimeError as exc:
        pytest.exit(f"cannot start the test {what}: {exc}", returncode=3)


@pytest.fixture(scope="session")
def postgres(containers: Containers) -> ContainerPostgres:
    return needed("PostgreSQL", containers.postgres)


@pytest.fixture(scope="session")
def database_url(postgres: ContainerPostgres) -> str:
    return postgres.dsn


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the test database, with the telemetry schema applied."""
    async with schema_connection(database_url) as conn:
        yield conn


@pytest.fixture
async def fresh_database_url(postgres: ContainerPostgres) -> AsyncIterator[str]:
    """An empty database of its own, dropped afterwards: for tests that change what every
    test shares (the table's partitions, retention) or need a schema from before a migration."""
    async with postgres.fresh_database() as url:
        yield url


@pytest.fixture(scope="session")
def redis_server(containers: Containers) -> ContainerRedis:
    return needed("Redis", containers.redis)


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


@contextmanager
def running_shop(env: dict[str, str]) -> Iterator[Shop]:
    """The three services as separate processes with `env`, checkout calling the other two
    over HTTP; stopped afterwards, last started first."""
    with ExitStack() as started:

        def start(app: str, env: dict[str, str]) -> ServiceProcess:
            process = ServiceProcess(app, env)
            started.callback(process.stop)
            return process.start()

        payment = start("payment.app:create_app", env)
        inventory = start("inventory.app:create_app", env)
        urls = {"AIOPS_PAYMENT_URL": payment.url, "AIOPS_INVENTORY_URL": inventory.url}
        checkout = start("checkout.app:create_app", {**env, **urls})
        yield Shop(checkout=checkout, payment=payment, inventory=inventory)


@pytest.fixture(scope="session")
def shop(database_url: str) -> Iterator[Shop]:
    """The three services as separate processes, calling each other over HTTP."""
    with running_shop(service_env(database_url)) as shop:
        yield shop
