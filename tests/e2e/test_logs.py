"""The compose stack's logs, as docs/logging.md says to read them: a checkout sent with curl
under a trace id is found in `docker compose logs` of each service it crossed, and no
secret of the stack is in any service's log."""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.compose import TESTED_SERVICES, ComposeStack, running_stack

pytestmark = pytest.mark.e2e

ORDER = '{"items": [{"sku": "SKU-001", "quantity": 1}], "amount": 19.99, "currency": "USD"}'
HOPS = {"checkout": "/checkout", "payment": "/payment", "inventory": "/inventory/reserve"}


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    with running_stack() as stack:
        yield stack


def curl(*args: str) -> str:
    return subprocess.run(
        ["curl", "--silent", "--show-error", "--fail", "--max-time", "10", *args],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def service_lines(stack: ComposeStack, service: str) -> list[str]:
    """`docker compose logs <service>`, without compose's `<container> | ` prefix."""
    out = stack.compose("logs", "--no-color", "--no-log-prefix", service)
    return out.splitlines()


def lines_with(stack: ComposeStack, service: str, text: str, within: float = 20) -> list[str]:
    deadline = time.monotonic() + within
    while True:
        found = [line for line in service_lines(stack, service) if text in line]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def test_a_checkouts_trace_id_is_in_the_logs_of_every_service_it_crossed(
    stack: ComposeStack,
) -> None:
    """`docker compose logs <service> | grep <trace id>` finds each hop's access line."""
    trace_id = f"e2e-logs-{secrets.token_hex(6)}"
    body = curl(
        "-X", "POST", f"{stack.url('checkout')}/checkout",
        "-H", f"X-Trace-Id: {trace_id}", "-H", "Content-Type: application/json", "-d", ORDER,
    )  # fmt: skip
    assert json.loads(body)["trace_id"] == trace_id
    for service, path in HOPS.items():
        lines = lines_with(stack, service, trace_id)
        assert lines, f"no line of {service} has {trace_id}"
        records: list[dict[str, Any]] = [json.loads(line) for line in lines]
        [access] = [r for r in records if r["logger"] == "aiops.access"]
        assert (access["trace_id"], access["method"], access["path"]) == (trace_id, "POST", path)
        assert access["status"] in (200, 201)
        assert access["service"] == service


def test_no_secret_of_the_stack_is_in_any_log(stack: ComposeStack) -> None:
    """After the chaos API was used with its token, and every service has started and served."""
    for service in HOPS:
        curl(f"{stack.url(service)}/simulate", "-H", f"X-Chaos-Token: {stack.chaos_token}")
    logs = stack.compose("logs", "--no-color", *TESTED_SERVICES)
    values = {
        name: stack.env[name]
        for name in (
            "POSTGRES_PASSWORD",
            "AIOPS_CHAOS_TOKEN",
            "AIOPS_READER_PASSWORD",
            "REDIS_PASSWORD",
        )
    }
    leaked = [name for name, value in values.items() if value in logs]
    assert not leaked, f"in the logs: {leaked}"
