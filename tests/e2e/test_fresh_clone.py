"""A fresh clone with no .env: plain `docker compose up` is healthy and serves, the secrets it
generated hold across `down` and `up`, and a password that no longer matches says so."""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from aiops_telemetry.stack_secrets import SECRETS
from tests.support.compose import PORT_VARIABLES, ROOT, TESTED_SERVICES, ComposeProject
from tests.support.processes import free_port
from tests.support.telemetry_rows import wait_for_rows

pytestmark = pytest.mark.e2e

ORDER = {"items": [{"sku": "SKU-001", "quantity": 1}], "amount": 19.99, "currency": "USD"}
# The requests a checkout's trace holds, whatever else it holds: one per service it crossed.
HOPS = {("checkout", "server"), ("payment", "server"), ("inventory", "server")}


class FreshClone(ComposeProject):
    """The repository as `git clone` would give it (tracked and new files; nothing ignored,
    so no .env, no .venv), run by compose from its own folder with free host ports."""

    def __init__(self, folder: Path) -> None:
        files = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout.split("\0")  # fmt: skip
        for name in filter(None, files):
            if (ROOT / name).is_file():  # a tracked file deleted in the working tree is gone
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, folder / name)
        self.folder = folder
        # Only the ports are set: a secret chosen in this process's environment is blanked.
        super().__init__(
            f"aiops-fresh-{secrets.token_hex(3)}",
            dict.fromkeys(SECRETS.values(), ""),
            cwd=folder,
            ports={name: free_port() for name in PORT_VARIABLES},
        )

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[f'{service.upper()}_PORT']}"

    def secret(self, name: str) -> str:
        """A generated secret, as a user reads it: `make secret NAME=...`."""
        done = subprocess.run(
            ["make", "-s", "secret", f"NAME={name}"],
            cwd=self.folder, env={**self.env, "COMPOSE_PROJECT_NAME": self.project},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def all_secrets(self) -> dict[str, str]:
        return {name: self.secret(name) for name in SECRETS}

    async def hops(self, trace_id: str) -> set[tuple[str, str]]:
        """The (service, kind) of each row of trace `trace_id`."""
        return {(r["service_name"], r["kind"]) for r in await self.trace_rows(trace_id)}

    async def checkout(self) -> str:
        """One checkout across the hops; its trace id."""
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(f"{self.url('checkout')}/checkout", json=ORDER)
        assert response.status_code in (200, 201), response.text
        return response.headers["x-trace-id"]

    async def trace_rows(self, trace_id: str) -> list[asyncpg.Record]:
        """The rows of trace `trace_id`, once its 7 are in (or what came within 30 s)."""
        conn = await asyncpg.connect(
            host="127.0.0.1",
            port=self.ports["POSTGRES_PORT"],
            user="aiops",
            database="aiops",
            password=self.secret("postgres_password"),
        )
        try:
            return await wait_for_rows(conn, "trace_id = $1", trace_id, count=7, timeout=30)
        finally:
            await conn.close()

    def health(self) -> dict[str, str]:
        return {c["Service"]: c["Health"] or c["State"] for c in self.ps()}


def messages(logs: str) -> list[str]:
    """What each line of `docker compose logs` says: a JSON line's `message` (the services'
    default format), else the line's text after the container's name."""
    said = []
    for line in logs.splitlines():
        text = line.split(" | ", 1)[-1]
        try:
            record = json.loads(text)
        except ValueError:
            record = None
        said.append(str(record.get("message", text)) if isinstance(record, dict) else text)
    return said


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FreshClone]:
    with FreshClone(tmp_path_factory.mktemp("fresh") / "aiops") as stack:
        assert not (stack.folder / ".env").exists()
        yield stack


@pytest.fixture(scope="module")
def trace_id(clone: FreshClone) -> str:
    """The stack up from nothing, and the trace id of a first checkout."""
    clone.up(*TESTED_SERVICES)
    return asyncio.run(clone.checkout())


def test_plain_compose_up_with_no_env_file_is_healthy(clone: FreshClone, trace_id: str) -> None:
    """Every service healthy; the one-shot `secrets` service ran once and exited 0."""
    assert clone.health() == {**dict.fromkeys(TESTED_SERVICES, "healthy"), "secrets": "exited"}
    [init] = [c for c in clone.ps() if c["Service"] == "secrets"]
    assert init["ExitCode"] == 0
    log = clone.compose("logs", "--no-color", "secrets")
    assert [name for name in SECRETS if f"{name} generated" not in log] == [], log


async def test_a_checkout_crosses_the_hops_and_lands(clone: FreshClone, trace_id: str) -> None:
    assert await clone.hops(trace_id) >= HOPS


def test_no_secret_is_in_an_image_environment_or_command_line(
    clone: FreshClone, trace_id: str
) -> None:
    """`docker inspect` of every container (what anyone with Docker access, or `ps` on the
    host, sees) holds no generated secret: each is read from the mounted volume."""
    values = clone.all_secrets()
    assert all(len(value) >= 32 for value in values.values())
    ids = clone.compose("ps", "--all", "--quiet").split()
    inspect = subprocess.run(
        ["docker", "inspect", *ids], capture_output=True, text=True, check=True
    ).stdout
    assert len(json.loads(inspect)) == len(TESTED_SERVICES) + 1
    for name, value in values.items():
        assert value not in inspect, f"{name} is visible in docker inspect"


async def test_down_and_up_keeps_the_secrets_and_the_data(clone: FreshClone, trace_id: str) -> None:
    before = clone.all_secrets()
    clone.compose("down", "--timeout", "10")
    clone.up(*TESTED_SERVICES)
    assert clone.health() == {**dict.fromkeys(TESTED_SERVICES, "healthy"), "secrets": "exited"}
    assert clone.all_secrets() == before
    assert "postgres_password kept" in clone.compose("logs", "--no-color", "secrets")
    assert len(await clone.trace_rows(trace_id)) >= 7  # the first checkout's rows survived
    assert await clone.hops(await clone.checkout()) >= HOPS  # and new ones land


async def test_a_password_the_database_was_not_created_with_is_one_clear_line(
    clone: FreshClone, trace_id: str
) -> None:
    """A .env that sets another POSTGRES_PASSWORD after the first start: payment stops with one
    line naming the cause and the way out. Dropping that .env goes back to the generated one."""
    (clone.folder / ".env").write_text("POSTGRES_PASSWORD=not-the-one-it-was-created-with\n")
    clone.env.pop("POSTGRES_PASSWORD")  # let compose read it from .env, as a user's would be
    clone.compose("up", "--detach", "--force-recreate", "--no-deps", "secrets")
    clone.compose("wait", "secrets")
    clone.compose("up", "--detach", "--force-recreate", "--no-deps", "payment")
    cause = 'PostgreSQL refused the login (password authentication failed for user "aiops")'
    for _ in range(60):
        logs = clone.compose("logs", "--no-color", "payment")
        if said := [message for message in messages(logs) if cause in message]:
            break
        await asyncio.sleep(0.5)
    assert said, logs
    assert "`make down V=1`" in said[0]  # the way out, on the same line
    assert "Traceback" not in logs

    (clone.folder / ".env").unlink()
    clone.compose("up", "--detach", "--force-recreate", "--no-deps", "secrets")
    clone.compose("wait", "secrets")
    clone.up("payment")
    assert clone.health()["payment"] == "healthy"
    assert await clone.hops(await clone.checkout()) >= HOPS
