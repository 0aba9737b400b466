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

from aiops_telemetry import TelemetrySink, current_span
from aiops_telemetry.context import SpanContext, parse_traceparent
from aiops_telemetry.http_client import KEEPALIVE_EXPIRY, Transport, create_http_client
from tests.support.fake_http import FakeServer, Mode, fake_server
from tests.support.processes import free_port
from tests.support.telemetry_rows import database_sink, wait_for_rows

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
    async with database_sink(database_url) as sink:
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


# How a callee fails to answer: its FakeServer mode (None: nothing listens on the port), the
# client's timeout in seconds, what the call raises, and the failure kind its span records.
NO_ANSWER: dict[str, tuple[Mode | None, float, type[httpx.HTTPError], str]] = {
    "refused": (None, 5.0, httpx.HTTPError, "connection_refused"),
    "never-answers": ("hang", 0.2, httpx.TimeoutException, "timeout"),
    # A crashing callee must not read as a slow one: that would mislead root-cause analysis.
    "hangs-up": ("close", 5.0, httpx.HTTPError, "connection_reset"),
}


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("failure", NO_ANSWER)
async def test_a_call_without_an_answer_is_a_client_span_that_says_why(
    transport: Transport,
    failure: str,
    server: FakeServer,
    sink: TelemetrySink,
    db: asyncpg.Connection,
) -> None:
    """Refused, timed out after the client's timeout, or reset: no status, and the kind."""
    mode, timeout, raised, error_kind = NO_ANSWER[failure]
    trace_id = f"{failure}-{transport}"
    if mode is not None:
        server.mode = mode
    with in_span(trace_id):
        async with client(sink, server.port if mode else free_port(), transport, timeout) as http:
            with pytest.raises(raised):
                await http.get("/ping")
    [span] = await wait_for_rows(db, "trace_id = $1", trace_id, count=1)
    assert (span["kind"], span["status_code"], span["error_kind"]) == ("client", None, error_kind)
    assert span["error_message"]
    assert span["latency_ms"] >= (timeout * 1000 if mode == "hang" else 0)


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
