"""Structured logs of real service processes: every line of a request carries its trace id.

Each service is a real uvicorn process (as the container runs it), its output captured
whole; a checkout crosses three of them over HTTP under one caller-chosen trace id.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import service_env
from tests.support.processes import ServiceProcess

JSON = "application/json"
ORDER = {"items": [{"sku": "SKU-001", "quantity": 1}], "amount": 19.99, "currency": "USD"}
# What each service serves of one checkout: exactly one access line each.
HOPS = {"checkout": "/checkout", "payment": "/payment", "inventory": "/inventory/reserve"}


def started(stack: ExitStack, app: str, env: dict[str, str]) -> ServiceProcess:
    process = ServiceProcess(app, env)
    stack.callback(process.stop)
    return process.start()


@dataclass(frozen=True)
class LoggingShop:
    log_format: str
    services: dict[str, ServiceProcess]


@pytest.fixture(scope="module", params=["json", "console"])
def shop(request: pytest.FixtureRequest, database_url: str) -> Iterator[LoggingShop]:
    """checkout → payment, inventory, logging in the format of the parameter."""
    log_format: str = request.param
    env = service_env(database_url, AIOPS_LOG_FORMAT=log_format)
    with ExitStack() as stack:
        payment = started(stack, "payment.app:create_app", env)
        inventory = started(stack, "inventory.app:create_app", env)
        checkout = started(
            stack,
            "checkout.app:create_app",
            {**env, "AIOPS_PAYMENT_URL": payment.url, "AIOPS_INVENTORY_URL": inventory.url},
        )
        services = {"checkout": checkout, "payment": payment, "inventory": inventory}
        yield LoggingShop(log_format, services)


def lines_with(process: ServiceProcess, text: str, *, count: int, within: float = 10) -> list[str]:
    """The lines of `process`'s output containing `text`, once there are `count` of them
    (a line is written when its request is over, maybe after the caller has its answer)."""
    deadline = time.monotonic() + within
    while True:
        found = [line for line in process.output(tail=None).splitlines() if text in line]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def checkout(shop: LoggingShop) -> str:
    trace_id = f"logs-{uuid.uuid4().hex[:12]}"
    response = httpx.post(
        f"{shop.services['checkout'].url}/checkout",
        json=ORDER,
        headers={"X-Trace-Id": trace_id},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-trace-id"] == trace_id
    return trace_id


def test_each_hop_logs_one_access_line_under_the_callers_trace_id(shop: LoggingShop) -> None:
    """JSON: every line parses; console: the id is on the line as trace_id=<id>. Each
    service has exactly one access line for the request: method, path, status, duration."""
    trace_id = checkout(shop)
    for service, path in HOPS.items():
        process = shop.services[service]
        lines = lines_with(process, trace_id, count=1)
        assert lines, f"{service} logged nothing with {trace_id}:\n{process.output()}"
        if shop.log_format == "json":
            records = [json.loads(line) for line in lines]
            assert all(r["trace_id"] == trace_id and r["span_id"] for r in records)
            assert all(r["service"] == service for r in records)
            [access] = [r for r in records if r["logger"] == "aiops.access"]
            assert (access["method"], access["path"]) == ("POST", path)
            assert access["status"] in (200, 201)
            assert access["duration_ms"] > 0
        else:
            assert all(f"trace_id={trace_id}" in line for line in lines)
            [access] = [line for line in lines if "[aiops.access]" in line]
            assert f"POST {path} 20" in access
            assert "duration_ms=" in access


def test_uvicorns_own_lines_are_in_our_format(shop: LoggingShop) -> None:
    """uvicorn configured its logging before it loaded the app; ours replaced it, so its
    startup lines are in our format (JSON: every line parses), with no trace id."""
    for service, process in shop.services.items():
        output = process.output(tail=None)
        if shop.log_format == "json":
            records = [json.loads(line) for line in output.splitlines()]
            startup = [r for r in records if r["logger"] == "uvicorn.error"]
            assert any(r["message"] == "Application startup complete." for r in startup)
            assert not any("trace_id" in r for r in startup), service
        else:
            [line] = [line for line in output.splitlines() if "Application startup com" in line]
            assert "[info" in line
            assert "[uvicorn.error]" in line
            assert "trace_id" not in line
        assert "INFO:" not in output  # uvicorn's own format


def test_a_health_probe_writes_no_info_line(shop: LoggingShop) -> None:
    """Docker probes /health every few seconds: its access line is DEBUG, below the default."""
    payment = shop.services["payment"]
    before = payment.output(tail=None)
    for _ in range(3):
        assert httpx.get(f"{payment.url}/health", timeout=5).status_code == 200
    time.sleep(0.3)
    assert "/health" not in payment.output(tail=None)[len(before) :]


@pytest.fixture(scope="module")
def ingest(database_url: str) -> Iterator[ServiceProcess]:
    env = service_env(database_url, AIOPS_LOG_FORMAT="json", AIOPS_OTLP_MAX_BODY_BYTES="2048")
    with ExitStack() as stack:
        yield started(stack, "ingest.app:create_app", env)


def refusals(process: ServiceProcess, status: int) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in lines_with(process, '"refused a request', count=1)]
    return [r for r in records if r["status"] == status]


def test_ingest_logs_each_refusal_with_its_reason(ingest: ServiceProcess) -> None:
    """Refused by the receiver (a wrong Content-Type) or before it runs (too large a body):
    a WARNING with the status and the reason as fields, beside the access line."""
    url = f"{ingest.url}/v1/traces"
    assert httpx.post(url, content=b"x", headers={"content-type": "text/plain"}).status_code == 415
    time.sleep(1.1)  # refusals of one status are logged at most once a second
    assert httpx.post(url, content=b"x" * 4096, headers={"content-type": JSON}).status_code == 413
    deadline = time.monotonic() + 10
    while not (refusals(ingest, 415) and refusals(ingest, 413)) and time.monotonic() < deadline:
        time.sleep(0.1)
    [wrong_type] = refusals(ingest, 415)
    assert wrong_type["level"] == "warning"
    assert "Content-Type must be" in wrong_type["reason"]
    [too_large] = refusals(ingest, 413)
    assert "AIOPS_OTLP_MAX_BODY_BYTES" in too_large["reason"]
    access = [
        json.loads(line)
        for line in lines_with(ingest, '"logger": "aiops.access"', count=2)
        if '"/v1/traces"' in line
    ]
    assert sorted(a["status"] for a in access) == [413, 415]
