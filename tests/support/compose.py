"""`docker compose` for the tests: one runner for the real stack under its own name and
ports (end-to-end tests), and for the containers the unit suite starts (tests/compose.yaml)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import asyncpg
import pytest

from tests.support.processes import free_port, free_port_pair

ROOT = Path(__file__).resolve().parents[2]
PORT_VARIABLES = (
    "CHECKOUT_PORT",
    "PAYMENT_PORT",
    "INVENTORY_PORT",
    "ANALYZER_PORT",
    "OTLP_HTTP_PORT",
    "GRAFANA_PORT",
    "POSTGRES_PORT",
    "REDIS_PORT",
)
# Grafana's image cannot be pulled on machines without a registry; the rest is built locally.
TESTED_SERVICES = ("postgres", "redis", "payment", "inventory", "checkout", "analyzer", "ingest")
COMPOSE_MISSING = (
    "docker compose is not available: install Docker Engine with Compose v2 "
    "(on our machines: ../shared/offline-docker/prepare.sh)"
)


def require_compose() -> None:
    """End the session with what to install when Docker, Compose v2 or the daemon is missing:
    without them no test that needs a container can run."""
    if (
        shutil.which("docker") is None
        or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode
    ):
        pytest.exit(COMPOSE_MISSING, returncode=3)
    daemon = subprocess.run(["docker", "version"], capture_output=True, text=True)
    if daemon.returncode:
        pytest.exit(
            f"the Docker daemon does not answer: start it (or set DOCKER_HOST). "
            f"{daemon.stderr.strip()[-500:]}",
            returncode=3,
        )


class ComposeProject:
    """`docker compose -p <name> [-f <file>]`, run in `cwd`, with an environment of its own.

    The name keeps the project apart from a developer's own stack and from other
    test sessions; its containers, networks and volumes go with `down`.
    """

    def __init__(
        self,
        name: str,
        env: Mapping[str, str],
        file: Path | None = None,
        cwd: Path = ROOT,
        *,
        ports: Mapping[str, int] | None = None,
    ) -> None:
        self.project = name
        self.file = file  # None: the docker-compose.yml in `cwd`
        self.cwd = cwd
        # Host port variables (CHECKOUT_PORT, ...) and the free ports chosen for them.
        self.ports = dict(ports or {})
        self.env = {**os.environ, **{k: str(v) for k, v in self.ports.items()}, **env}

    def compose(self, *args: str, check: bool = True, timeout: float = 900) -> str:
        files = ["-f", str(self.file)] if self.file else []
        result = subprocess.run(
            ["docker", "compose", "-p", self.project, *files, *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"docker compose {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stderr[-4000:]}\n{result.stdout[-2000:]}"
            )
        return result.stdout

    def up(
        self, *services: str, build: bool = True, scale: Mapping[str, int] | None = None
    ) -> None:
        """Build what has changed (unless not `build`), start `services` (`scale`: that many
        replicas of some) and return once they are healthy."""
        options = ["--build"] if build else []
        options += [f"--scale={name}={count}" for name, count in (scale or {}).items()]
        for attempt in range(3):
            try:
                self.compose(
                    "up", *options, "--detach", "--wait", "--wait-timeout", "180", *services
                )
                return
            except RuntimeError as exc:
                # A port free when chosen may be taken by the time Docker binds it (other
                # stacks start beside this one): move that one port and try again.
                if attempt == 2 or not self._move_taken_port(str(exc)):
                    raise RuntimeError(f"{exc}\n--- logs ---\n{self.logs(*services)}") from exc

    def _move_taken_port(self, error: str) -> bool:
        """Give the variable of the port Docker found taken a new free port (a new pair for a
        two-port range); False if no variable of ours holds it."""
        match = _TAKEN.search(error)
        if not match:
            return False
        taken = int(match.group(1) or match.group(2))
        moved = False
        for name, port in self.ports.items():
            value = self.env.get(name)
            if value == str(port) and port == taken:
                self.ports[name] = free_port()
                self.env[name] = str(self.ports[name])
                moved = True
            elif value == f"{port}-{port + 1}" and taken in (port, port + 1):
                self.ports[name] = first = free_port_pair()
                self.env[name] = f"{first}-{first + 1}"
                moved = True
        return moved

    def logs(self, *services: str) -> str:
        return self.compose("logs", "--no-color", "--tail=60", *services, check=False)[-8000:]

    def ps(self) -> list[dict[str, Any]]:
        out = self.compose("ps", "--all", "--format", "json")
        # Compose v2 prints one JSON object per line.
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def exec(self, service: str, *command: str) -> str:
        """Run `command` in `service`'s container; raises if it fails.

        Plain `docker exec`: some Compose v2 builds lose the exit status of
        `docker compose exec -T`, which would let a failing command pass.
        """
        result = subprocess.run(
            ["docker", "exec", self.container(service), *command], capture_output=True, text=True
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} in {service} failed: {result.stderr}")
        return result.stdout

    @contextlib.contextmanager
    def stopped(self, service: str, *, kill: bool = False) -> Iterator[None]:
        """`service` stopped (or SIGKILLed) for the block; then up and healthy again,
        whatever happened in the block, so that one failure does not spread to the next test."""
        self.compose("kill" if kill else "stop", service)
        try:
            yield
        finally:
            self.compose("up", "--detach", "--wait", "--no-recreate", service)

    def container(self, service: str) -> str:
        """The id of `service`'s (first) container."""
        return self.compose("ps", "--all", "--quiet", service).split()[0]

    def started_at(self, service: str) -> str:
        """When `service`'s container process last started: it changes on any restart."""
        return subprocess.run(
            ["docker", "inspect", "--format", "{{.State.StartedAt}}", self.container(service)],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip

    def down(self) -> None:
        self.compose("down", "--volumes", "--remove-orphans", "--timeout", "10", check=False)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        """Leaving a `with` block takes the project down, with its volumes."""
        self.down()


class ComposeStack(ComposeProject):
    """The real stack (docker-compose.yml) with free host ports and generated secrets.

    A developer's own stack (or containers dockerd brought back) may hold the
    default ports, so every published port is a free one chosen here.
    """

    def __init__(self) -> None:
        self.postgres_password = secrets.token_urlsafe(12)
        self.chaos_token = secrets.token_urlsafe(12)
        super().__init__(
            f"aiops-e2e-{secrets.token_hex(3)}",
            {
                "POSTGRES_PASSWORD": self.postgres_password,
                "GRAFANA_ADMIN_PASSWORD": secrets.token_urlsafe(12),
                "AIOPS_CHAOS_TOKEN": self.chaos_token,
                "AIOPS_READER_PASSWORD": secrets.token_urlsafe(12),
                "REDIS_PASSWORD": secrets.token_urlsafe(12),
            },
            ports={name: free_port() for name in PORT_VARIABLES},
        )

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[f'{service.upper()}_PORT']}"

    def publish_two_analyzers(self) -> None:
        """Publish the analyzer on a range of two free ports, one per replica.

        Docker hands a range's ports to replicas in no set order.
        """
        first = free_port_pair()
        self.ports["ANALYZER_PORT"] = first
        self.env["ANALYZER_PORT"] = f"{first}-{first + 1}"

    @property
    def analyzer_replicas(self) -> list[str]:
        """The two analyzers' URLs (the range may have moved if a port was taken)."""
        first = self.ports["ANALYZER_PORT"]
        return [f"http://127.0.0.1:{port}" for port in (first, first + 1)]

    @contextlib.asynccontextmanager
    async def database(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection to the stack's PostgreSQL, as the tables' owner."""
        conn: asyncpg.Connection = await asyncpg.connect(self.database_url)
        try:
            yield conn
        finally:
            await conn.close()

    @property
    def database_url(self) -> str:
        port = self.ports["POSTGRES_PORT"]
        return f"postgresql://aiops:{self.postgres_password}@127.0.0.1:{port}/aiops"


# Docker says a host port is taken in two ways, by its own proxy or the kernel's bind.
_TAKEN = re.compile(
    r"Bind for [\d.]+:(\d+) failed: port is already allocated"
    r"|listen tcp[46]? [\d.]+:(\d+): bind: address already in use"
)


@contextmanager
def running_stack(*, two_analyzers: bool = False, **env: str) -> Iterator[ComposeStack]:
    """The tested services up and healthy under a fresh project, torn down afterwards."""
    require_compose()
    with ComposeStack() as stack:
        stack.env.update(env)
        if two_analyzers:
            stack.publish_two_analyzers()
        stack.up(*TESTED_SERVICES)
        if two_analyzers:
            stack.up("analyzer", build=False, scale={"analyzer": 2})
        yield stack
