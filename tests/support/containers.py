"""PostgreSQL, Redis and headless Chromium for the test suite, as containers of
tests/compose.yaml: nothing on the host but Docker."""

from __future__ import annotations

import secrets
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Self

import asyncpg

from tests.support.compose import ComposeProject
from tests.support.processes import free_port
from tests.support.redis_server import RedisAtPort

COMPOSE_FILE = Path(__file__).resolve().parents[1] / "compose.yaml"
# The host port of each service that publishes one, as tests/compose.yaml reads it.
PORT_VARIABLES = {
    "postgres": "AIOPS_TEST_POSTGRES_PORT",
    "outage-postgres": "AIOPS_TEST_OUTAGE_POSTGRES_PORT",
    "redis": "AIOPS_TEST_REDIS_PORT",
}


class Containers:
    """One compose project of tests/compose.yaml per test session.

    A service starts when a test first needs it, so a run that needs no
    database starts none; `down` removes them all, with their data.
    """

    def __init__(self) -> None:
        # Every port is chosen now: compose reads the whole file on each command.
        self.ports = {service: free_port() for service in PORT_VARIABLES}
        self.project = ComposeProject(
            f"aiops-test-{secrets.token_hex(3)}",
            {variable: str(self.ports[service]) for service, variable in PORT_VARIABLES.items()},
            file=COMPOSE_FILE,
        )
        self.started = False

    def up(self, service: str) -> None:
        self.started = True  # set first: a service that fails to start leaves one for `down`
        self.project.up(service, build=False)

    def postgres(self, service: str = "postgres") -> ContainerPostgres:
        self.up(service)
        return ContainerPostgres(self.project, service, self.ports[service])

    def redis(self) -> ContainerRedis:
        self.up("redis")
        return ContainerRedis(self.project, "redis", self.ports["redis"])

    def browser(self) -> Browser:
        # Built (from cache, unless the Dockerfile changed) under one fixed project name:
        # compose labels an image with its project, and a new label every session would
        # make a new image every time and leave the last one dangling.
        ComposeProject("aiops-test", self.project.env, file=COMPOSE_FILE).compose(
            "build", "browser"
        )
        self.up("browser")
        return Browser(self.project.container("browser"))

    def down(self) -> None:
        if self.started:
            self.project.down()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()


class Service:
    """A service of the project, published on 127.0.0.1:`port`, that tests may stop."""

    def __init__(self, project: ComposeProject, service: str, port: int) -> None:
        self.project = project
        self.service = service
        self.port = port

    def start(self) -> None:
        """Start it again after `stop` (it may be running); return once it is healthy."""
        self.project.up(self.service, build=False)

    def stop(self) -> None:
        """Stop the container, as an outage: connections are refused until `start`."""
        self.project.compose("stop", self.service)

    def destroy(self) -> None:
        """Remove the container and its data (the project's `down` does it for all)."""
        self.project.compose("rm", "--stop", "--force", "--volumes", self.service)


class ContainerPostgres(Service):
    """PostgreSQL with user, password and database `aiops` (tests/compose.yaml); the data
    outlives `stop` and `start`."""

    @property
    def dsn(self) -> str:
        return f"postgresql://aiops:aiops@127.0.0.1:{self.port}/aiops"

    @asynccontextmanager
    async def fresh_database(self, prefix: str = "fresh") -> AsyncIterator[str]:
        """The URL of an empty database of its own (`<prefix>_<random>`), dropped afterwards
        with any connection still open to it."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        admin: asyncpg.Connection = await asyncpg.connect(self.dsn)
        try:
            await admin.execute(f"CREATE DATABASE {name}")
            try:
                yield self.dsn.rsplit("/", 1)[0] + f"/{name}"
            finally:
                await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        finally:
            await admin.close()


class ContainerRedis(RedisAtPort, Service):
    """Redis that saves nothing: `stop` then `start` simulates an outage, and it comes
    back on the same port (so the same URL), empty."""

    def __init__(self, project: ComposeProject, service: str, port: int) -> None:
        super().__init__(project, service, port)
        self.running = True  # Containers.redis() started it

    def start(self, timeout: float = 30.0) -> None:
        """Start it (a no-op when it runs) and return once it answers PING."""
        if self.running:
            return
        # `start` and PING rather than `up --wait`: tests restart Redis often, and
        # Docker's health check would add up to a second to each restart.
        self.project.compose("start", self.service)
        deadline = time.monotonic() + timeout
        while not self._answers_ping():
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"Redis did not answer PING within {timeout:.0f}s:\n"
                    f"{self.project.logs(self.service)}"
                )
            time.sleep(0.05)
        self.running = True

    def stop(self) -> None:
        super().stop()
        self.running = False


class Browser:
    """The idle `browser` container (Debian's Chromium), on the host's network."""

    def __init__(self, container: str) -> None:
        self.container = container

    def run(self, *command: str, timeout: float) -> subprocess.CompletedProcess[bytes]:
        """`command` in the container; its output as bytes, whatever its exit status."""
        return subprocess.run(
            ["docker", "exec", self.container, *command],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
