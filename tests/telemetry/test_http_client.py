"""The instrumented HTTP client against a real TCP server: headers, spans, failures, pooling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import get_args

import asyncpg
import httpx
import pytest
import uvicorn

from aiops_telemetry import TelemetrySink, apply_migrations, current_span
from aiops_telemetry.context import SpanContext, parse_traceparent
from aiops_telemetry.http_client import KEEPALIVE_EXPIRY, Transport, create_http_client
from tests.support.fake_http import FakeServer, fake_server
from tests.support.processes import free_port
from tests.support.telemetry_rows import wait_for_rows

TRANSPORTS = get_args(Transport)


@contextmanager
def in_span(trace_id: str) -> Iterator[None]:
    """Run as if inside a request of trace `trace_id`, span 00f067aa0ba902b7."""
    token = current_span.set(SpanContext(trace_id, "00f067aa0ba902b7"))
    try:
        yield
    finally:
        current_span.reset(token)


@pytest.fixture
async def server() -> AsyncIterator[FakeServer]:
    async with fake_server() as server:
        yield server


@pytest.fixture
async def sink(database_url: str) -> AsyncIterator[TelemetrySink]:
    async def connect() -> asyncpg.Connection:
        conn: asyncpg.Connection = await asyncpg.connect(database_url)
        await apply_migrations(conn, component="telemetry", package="aiops_telemetry")
        return conn

    async with TelemetrySink(connect, flush_interval=0.05) as sink:
        yield sink


def client(
    sink: TelemetrySink, port: int, transport: Transport, timeout: float = 5
) -> httpx.AsyncClient:
    return create_http_client(
        base_url=f"http://127.0.0.1:{port}",
        peer_service="callee",
        sink=sink,
        service_name="caller",
        timeout=timeout,
        transport=transport,
    )


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_calls_carry_trace_headers_and_become_child_spans(
    transport: Transport, server: FakeServer, sink: TelemetrySink, db: asyncpg.Connection
) -> None:
    with in_span("abc-123-" + transport):
        async with client(sink, server.port, transport) as http:
            response = await http.post("/payment", json={"amount": 5})
    assert response.status_code == 200
    [sent] = server.headers
    assert sent["x-trace-id"] == "abc-123-" + transport
    parsed = parse_traceparent(sent["traceparent"])
    assert parsed is not None
    [span] = await wait_for_rows(db, "trace_id = $1", "abc-123-" + transport, count=1)
    assert (span["kind"], span["peer_service"], span["endpoint"], span["method"]) == (
        "client", "callee", "/payment", "POST",
    )  # fmt: skip
    assert span["parent_span_id"] == "00f067aa0ba902b7"
    assert span["span_id"] == parsed[1], "the callee's parent is this client span"
    assert span["status_code"] == 200


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_refused_connection_is_recorded_as_such(
    transport: Transport, sink: TelemetrySink, db: asyncpg.Connection
) -> None:
    with in_span(f"refused-{transport}"):
        async with client(sink, free_port(), transport) as http:
            with pytest.raises(httpx.HTTPError):
                await http.get("/ping")
    [span] = await wait_for_rows(db, "trace_id = $1", f"refused-{transport}", count=1)
    assert (span["status_code"], span["error_kind"]) == (None, "connection_refused")
    assert span["error_message"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_callee_that_never_answers_is_a_timeout(
    transport: Transport, server: FakeServer, sink: TelemetrySink, db: asyncpg.Connection
) -> None:
    server.mode = "hang"
    with in_span(f"hang-{transport}"):
        async with client(sink, server.port, transport, timeout=0.2) as http:
            with pytest.raises(httpx.TimeoutException):
                await http.get("/ping")
    [span] = await wait_for_rows(db, "trace_id = $1", f"hang-{transport}", count=1)
    assert (span["status_code"], span["error_kind"]) == (None, "timeout")
    assert span["latency_ms"] >= 200


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_idle_connections_expire_before_uvicorn_closes_them(
    transport: Transport, server: FakeServer, sink: TelemetrySink
) -> None:
    """A pooled connection is reused while fresh, and dropped before the server's keep-alive ends.

    Reusing a connection just as uvicorn closes it (both at 5 s by default)
    failed requests with a connection reset.
    """
    assert uvicorn.Config(app="unused:app").timeout_keep_alive > KEEPALIVE_EXPIRY
    async with client(sink, server.port, transport) as http:
        await http.get("/a")
        await http.get("/b")
        assert server.connections == 1
        await asyncio.sleep(KEEPALIVE_EXPIRY + 0.6)
        await http.get("/c")
    assert server.connections == 2


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_callee_that_hangs_up_is_a_reset_not_a_timeout(
    transport: Transport, server: FakeServer, sink: TelemetrySink, db: asyncpg.Connection
) -> None:
    """A crashing callee must not read as a slow one: that would mislead root-cause analysis."""
    server.mode = "close"
    with in_span(f"reset-{transport}"):
        async with client(sink, server.port, transport) as http:
            with pytest.raises(httpx.HTTPError):
                await http.get("/ping")
    [span] = await wait_for_rows(db, "trace_id = $1", f"reset-{transport}", count=1)
    assert (span["status_code"], span["error_kind"]) == (None, "connection_reset")
