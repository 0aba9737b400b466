"""What the benchmark runs: a throwaway PostgreSQL and uvicorn processes, always cleaned up."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any, TypeVar

import asyncpg
import httpx

from aiops_telemetry import apply_migrations
from bench.local_postgres import LocalPostgres
from bench.local_redis import LocalRedis
from tests.support.processes import ServiceProcess, free_port

from .config import REPO_ROOT, Config
from .wrk import Wrk

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Context:
    """What every section gets: settings, the load generator, the database, the service env."""

    config: Config
    wrk: Wrk
    db: Database
    env: Mapping[str, str]
    postgres_cpu: Callable[[], float]  # CPU seconds of the whole cluster so far


@contextmanager
def throwaway_postgres() -> Iterator[LocalPostgres]:
    """A fresh cluster for this run only; stopped and deleted whatever happens."""
    pg = LocalPostgres(free_port())
    try:
        pg.init()
        yield pg
    finally:
        pg.destroy()


@contextmanager
def throwaway_redis() -> Iterator[str]:
    """A Redis for this run only; its URL. Stopped and deleted whatever happens."""
    redis = LocalRedis(free_port())
    try:
        yield redis.reset()
    finally:
        redis.destroy()


def service_env(dsn: str) -> dict[str, str]:
    # uvicorn must import `bench.apps` whatever directory `make` ran us from.
    path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, "AIOPS_DATABASE_URL": dsn}


class Fleet:
    """uvicorn processes stopped (SIGTERM, so sinks flush) and their logs removed on exit.

    On an error the tail of every log goes to stderr first: it usually says why.
    Logs are temporary files of `ServiceProcess`; removing them is our job.
    """

    def __init__(self, base_env: Mapping[str, str]) -> None:
        self._base_env = dict(base_env)
        self._stack = ExitStack()
        self._processes: list[ServiceProcess] = []

    def start(self, app: str, env: Mapping[str, str] | None = None) -> ServiceProcess:
        process = ServiceProcess(app, {**self._base_env, **(env or {})})
        # Registered before start(): a process that never got healthy is stopped too.
        self._processes.append(process)
        self._stack.callback(_stop, process)
        return process.start()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None and issubclass(exc_type, Exception):  # not on Ctrl-C
            for process in self._processes:
                if process.log.exists():
                    print(f"--- log of {process.app} ---\n{process.output()}", file=sys.stderr)
        self._stack.close()


def _stop(process: ServiceProcess) -> None:
    try:
        process.stop()
    finally:
        process.log.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class SinkCounts:
    """The telemetry part of a service's `/health`."""

    state: str
    written: int
    dropped: int
    buffered: int
    failed_flushes: int

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def sink_counts(process: ServiceProcess) -> SinkCounts:
    answer = httpx.get(f"{process.url}/health", timeout=5).json()
    stats: dict[str, Any] = answer["telemetry"]
    return SinkCounts(
        state=str(stats["state"]),
        written=int(stats["written"]),
        dropped=int(stats["dropped"]),
        buffered=int(stats["buffered"]),
        failed_flushes=int(stats["failed_flushes"]),
    )


def drained(process: ServiceProcess, timeout: float = 10.0) -> SinkCounts:
    """The sink's counts once it has nothing buffered, i.e. after its last flush."""
    # Requests wrk abandoned at its deadline finish (and are recorded) just after it exits.
    time.sleep(0.5)
    deadline = time.monotonic() + timeout
    counts = sink_counts(process)
    while counts.buffered and time.monotonic() < deadline:
        time.sleep(0.1)
        counts = sink_counts(process)
    return counts


def rss_kib(pid: int) -> int:
    """Resident set size from /proc (what the kernel charges the process)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


class Database:
    """Blocking helpers for the harness, which otherwise only waits on subprocesses."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    def migrate(self) -> None:
        asyncio.run(self._run(_migrate))

    def truncate(self) -> None:
        asyncio.run(self._run(_truncate))

    def count(self, service_name: str | None = None) -> int:
        async def count(conn: asyncpg.Connection) -> int:
            if service_name is None:
                value = await conn.fetchval("SELECT count(*) FROM telemetry")
            else:
                value = await conn.fetchval(
                    "SELECT count(*) FROM telemetry WHERE service_name = $1", service_name
                )
            return int(value)

        return asyncio.run(self._run(count))

    def failures(self) -> list[Failure]:
        """What went wrong, in the shop's own telemetry: why wrk saw non-2xx answers."""
        return asyncio.run(self._run(_failures))

    async def _run(self, action: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        conn = await asyncpg.connect(self.dsn, timeout=10)
        try:
            return await action(conn)
        finally:
            await conn.close()


@dataclass(frozen=True, slots=True)
class Failure:
    service: str
    endpoint: str
    status_code: int | None
    error_kind: str | None
    count: int

    def __str__(self) -> str:
        what = f"HTTP {self.status_code}" if self.status_code else "no response"
        kind = f" ({self.error_kind})" if self.error_kind else ""
        return f"{self.count} x {self.service} {self.endpoint} {what}{kind}"


async def _failures(conn: asyncpg.Connection) -> list[Failure]:
    rows = await conn.fetch(
        "SELECT service_name, endpoint, status_code, error_kind, count(*) AS n FROM telemetry "
        "WHERE status_code >= 400 OR error_kind IS NOT NULL "
        "GROUP BY 1, 2, 3, 4 ORDER BY n DESC LIMIT 10"
    )
    return [Failure(r[0], r[1], r[2], r[3], r["n"]) for r in rows]


async def _migrate(conn: asyncpg.Connection) -> None:
    await apply_migrations(conn, component="telemetry", package="aiops_telemetry")


async def _truncate(conn: asyncpg.Connection) -> None:
    await conn.execute("TRUNCATE telemetry RESTART IDENTITY")
