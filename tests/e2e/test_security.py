"""Security defaults of the compose stack: nothing reachable from outside, nobody let in unasked."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator

import asyncpg
import httpx
import pytest
import redis
import redis.exceptions

from tests.support.compose import TESTED_SERVICES, ComposeStack, running_stack

pytestmark = pytest.mark.e2e

SHOP = ("checkout", "payment", "inventory")
OURS = (*SHOP, "analyzer")
# A POST endpoint of each service (the analyzer's take no body: it refuses one declared too large).
BODY_ENDPOINTS = {
    "checkout": "/checkout",
    "payment": "/payment",
    "inventory": "/inventory/reserve",
    "analyzer": "/incidents/inc_0/acknowledge",
}


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    with running_stack() as stack:
        yield stack


def other_host_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback: how other machines would reach it."""
    out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, check=True)
    addresses = [line.split()[3].split("/")[0] for line in out.stdout.splitlines()]
    return [a for a in addresses if not a.startswith("127.")]


def test_every_published_port_of_every_service_binds_to_loopback(stack: ComposeStack) -> None:
    config = json.loads(stack.compose("--profile", "load", "config", "--format", "json"))
    published = [
        (name, port.get("host_ip"))
        for name, service in config["services"].items()
        for port in service.get("ports", [])
    ]
    assert {name for name, _ in published} >= {*TESTED_SERVICES, "grafana"}
    assert {host_ip for _, host_ip in published} == {"127.0.0.1"}, published


def test_postgres_redis_and_the_services_refuse_connections_from_other_interfaces(
    stack: ComposeStack,
) -> None:
    addresses = other_host_addresses()
    assert addresses, "no non-loopback address to try (docker0 exists wherever dockerd runs)"
    for address in addresses:
        for name, port in stack.ports.items():
            if name == "GRAFANA_PORT":
                continue  # not started here: nothing listens on loopback either
            # Refused here; a host whose firewall drops the packets times out instead.
            with pytest.raises((ConnectionRefusedError, TimeoutError)):
                socket.create_connection((address, port), timeout=2).close()
        with socket.create_connection(("127.0.0.1", stack.ports["POSTGRES_PORT"]), timeout=2):
            pass  # while on loopback it is there


def test_containers_run_unprivileged_on_read_only_root_filesystems(stack: ComposeStack) -> None:
    for service in TESTED_SERVICES:
        uid_line = next(
            line
            for line in stack.exec(service, "cat", "/proc/1/status").splitlines()
            if line.startswith("Uid:")
        )
        assert "0" not in uid_line.split()[1:], f"{service} runs as root: {uid_line}"
        read_only = subprocess.run(
            ["docker", "inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}",
             stack.container(service)],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        assert read_only == "true", f"{service}'s root filesystem is writable"
    for service in OURS:
        with pytest.raises(RuntimeError, match="Read-only file system"):
            stack.exec(service, "touch", "/app/planted")


async def test_postgres_and_redis_want_their_passwords(stack: ComposeStack) -> None:
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(stack.database_url.replace(stack.postgres_password, "guess"))
    client = redis.Redis(host="127.0.0.1", port=stack.ports["REDIS_PORT"], socket_timeout=5)
    with pytest.raises(redis.exceptions.AuthenticationError):
        client.ping()
    client.close()
    with redis.Redis(
        host="127.0.0.1", port=stack.ports["REDIS_PORT"], password=stack.env["REDIS_PASSWORD"]
    ) as authenticated:
        assert authenticated.ping() is True


def test_no_credential_is_baked_into_the_image(stack: ComposeStack) -> None:
    """The image holds no .env and no secret; the running containers get them from compose."""
    image = json.loads(stack.compose("config", "--format", "json"))["services"]["checkout"]["image"]
    inspect = subprocess.run(
        ["docker", "image", "inspect", image], capture_output=True, text=True, check=True
    ).stdout
    history = subprocess.run(
        ["docker", "history", "--no-trunc", image], capture_output=True, text=True, check=True
    ).stdout
    env = json.loads(inspect)[0]["Config"]["Env"]
    assert not [e for e in env if any(k in e for k in ("PASSWORD", "TOKEN", "DATABASE_URL"))], env
    for secret in (stack.postgres_password, stack.chaos_token, stack.env["REDIS_PASSWORD"]):
        assert secret not in inspect
        assert secret not in history
    with pytest.raises(RuntimeError, match="No such file"):
        stack.exec("checkout", "ls", "/app/.env")


@pytest.mark.parametrize("service", OURS)
def test_oversized_bodies_are_refused_with_a_413_that_names_the_limit(
    stack: ComposeStack, service: str
) -> None:
    body = b'{"items": "' + b"x" * (1024 * 1024) + b'"}'  # 1 MiB
    response = httpx.post(
        f"{stack.url(service)}{BODY_ENDPOINTS[service]}",
        content=body,
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 413, response.text
    assert "65536 bytes" in response.json()["detail"]


@pytest.mark.parametrize("service", SHOP)
def test_oversized_streamed_bodies_are_refused_with_a_413_too(
    stack: ComposeStack, service: str
) -> None:
    """No Content-Length: the limit counts the chunks as they arrive."""
    chunks = (b" " * 8192 for _ in range(128))  # 1 MiB of JSON whitespace
    response = httpx.post(
        f"{stack.url(service)}{BODY_ENDPOINTS[service]}",
        content=chunks,
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413, response.text
    assert "65536 bytes" in response.json()["detail"]
