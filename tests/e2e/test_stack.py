"""The real compose stack: built, healthy, and tracing across container hops."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from tests.support.compose import ROOT, TESTED_SERVICES, ComposeStack, running_stack
from tests.support.telemetry_rows import wait_for_rows

pytestmark = pytest.mark.e2e

ORDER = {"items": [{"sku": "SKU-001", "quantity": 1}], "amount": 19.99, "currency": "USD"}


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    with running_stack() as stack:
        yield stack


def test_compose_file_is_valid(stack: ComposeStack) -> None:
    stack.compose("config", "--quiet")


def test_every_started_service_is_healthy(stack: ComposeStack) -> None:
    containers = {c["Service"]: c for c in stack.ps()}
    assert set(containers) == {*TESTED_SERVICES, "secrets"}
    secrets_init = containers.pop("secrets")  # the one-shot that wrote the secrets, done
    assert (secrets_init["State"], secrets_init["ExitCode"]) == ("exited", 0)
    assert {name: c["Health"] for name, c in containers.items()} == dict.fromkeys(
        TESTED_SERVICES, "healthy"
    )
    for service in ("checkout", "payment", "inventory", "analyzer"):
        health = httpx.get(f"{stack.url(service)}/health", timeout=5).json()
        assert (health["service"], health["status"]) == (service, "ok")


async def test_checkout_crosses_containers_under_one_trace(stack: ComposeStack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(f"{stack.url('checkout')}/checkout", json=ORDER)
    assert response.status_code == 200, response.text
    trace_id = response.headers["x-trace-id"]
    async with stack.database() as conn:
        rows = await wait_for_rows(conn, "trace_id = $1", trace_id, count=7, timeout=30)
    spans = {r["span_id"]: r for r in rows}
    edges = {
        (spans[r["parent_span_id"]]["service_name"], r["service_name"], r["kind"])
        for r in rows
        if r["parent_span_id"]
    }
    assert edges >= {
        ("checkout", "checkout", "client"),  # checkout's calls, children of its request
        ("checkout", "payment", "server"),  # payment served checkout's call
        ("checkout", "inventory", "server"),
        ("inventory", "inventory", "client"),  # inventory's queries
    }
    assert {r["peer_service"] for r in rows} == {None, "payment", "inventory", "postgres"}


def test_readme_walkthrough_runs_verbatim(stack: ComposeStack) -> None:
    """The README's curl + psql walk-through, with only the host ports moved."""
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- walkthrough -->\s*```sh\n(.*?)```", readme, re.DOTALL)
    assert match, "README.md lost its walk-through block"
    script = match.group(1)
    for service in ("checkout", "payment", "inventory"):
        default = {"checkout": 8001, "payment": 8002, "inventory": 8003}[service]
        script = script.replace(
            f"localhost:{default}", f"localhost:{stack.ports[f'{service.upper()}_PORT']}"
        )
    script = script.replace("docker compose ", f"docker compose -p {stack.project} ")
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert re.search(r"(?im)^x-trace-id: [0-9a-f]{32}", out)
    assert '"status":"authorized"' in out
    assert '"sku":"SKU-001"' in out
    # The psql listing shows the trace's rows from every service.
    for service, kind in (
        ("checkout", "server"),
        ("checkout", "client"),
        ("payment", "server"),
        ("inventory", "server"),
        ("inventory", "client"),
    ):
        assert re.search(rf"\| {service}\s+\| {kind}\s+\|", out), out


def test_containers_run_as_non_root_on_a_read_only_filesystem(stack: ComposeStack) -> None:
    for service in ("checkout", "payment", "inventory"):
        assert stack.exec(service, "id", "-u").strip() != "0"
        with pytest.raises(RuntimeError, match="Read-only file system"):
            stack.exec(service, "touch", "/app/written-at-runtime")
