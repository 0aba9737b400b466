"""The ASGI middleware on a real app, with a real sink writing to PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest

from aiops_telemetry.middleware import UNMATCHED
from tests.support.sample_app import sample_app
from tests.support.telemetry_rows import recorded_client, wait_for_rows


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with recorded_client(database_url, sample_app(), "mw-test") as client:
        yield client


async def test_route_template_is_the_endpoint_label(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """`/items/42` and `/items/7` are one endpoint, `/items/{item_id}`."""
    trace_id = f"tmpl-{uuid.uuid4().hex[:12]}"
    for item in (42, 7):
        response = await client.get(f"/items/{item}", headers={"X-Trace-Id": trace_id})
        assert response.status_code == 200
        assert response.headers["x-trace-id"] == trace_id
    rows = await wait_for_rows(db, "trace_id = $1", trace_id, count=2)
    assert [r["endpoint"] for r in rows] == ["/items/{item_id}"] * 2
    assert all(r["kind"] == "server" and r["method"] == "GET" for r in rows)


async def test_unknown_paths_share_one_label(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """A scanner hitting random paths cannot grow the set of endpoint labels."""
    trace_id = f"scan-{uuid.uuid4().hex[:12]}"
    for path in ("/wp-admin/setup.php", "/random/123", "/.env", "/items/not-a-number/extra"):
        response = await client.get(path, headers={"X-Trace-Id": trace_id})
        assert response.status_code == 404
    rows = await wait_for_rows(db, "trace_id = $1", trace_id, count=4)
    assert {r["endpoint"] for r in rows} == {UNMATCHED}


async def test_exception_is_answered_and_its_stack_trace_stored(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """An unhandled exception: a JSON 500 with the trace id; the traceback lands in telemetry."""
    response = await client.get("/boom")
    assert response.status_code == 500
    trace_id = response.headers["x-trace-id"]
    assert response.json()["trace_id"] == trace_id
    [stored] = await wait_for_rows(db, "trace_id = $1", trace_id, count=1)
    assert stored["status_code"] == 500
    assert stored["error_kind"] == "exception"
    assert "Traceback (most recent call last)" in stored["error_message"]
    assert "ValueError: boom: the handler failed" in stored["error_message"]
    assert "in boom" in stored["error_message"]


async def test_hostile_trace_id_is_replaced_on_response_and_in_storage(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    hostile = "x'; DROP TABLE telemetry;--"
    response = await client.get("/items/1", headers={"X-Trace-Id": hostile})
    trace_id = response.headers["x-trace-id"]
    assert trace_id != hostile
    assert len(trace_id) == 32
    [stored] = await wait_for_rows(db, "trace_id = $1", trace_id, count=1)
    assert stored["endpoint"] == "/items/{item_id}"
    assert await db.fetchval("SELECT count(*) FROM telemetry WHERE trace_id = $1", hostile) == 0


async def test_span_starts_when_the_request_does_and_lasts_no_longer(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """The timestamp is the request's start (µs precision) and the latency fits inside the call."""
    before = datetime.now(UTC)
    response = await client.get("/items/3")
    after = datetime.now(UTC)
    [stored] = await wait_for_rows(db, "trace_id = $1", response.headers["x-trace-id"], count=1)
    assert before <= stored["timestamp"] <= after
    assert 0 < stored["latency_ms"] <= (after - before).total_seconds() * 1000


async def test_excluded_paths_are_not_recorded(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """Health probes every few seconds would otherwise swamp the baselines."""
    trace_id = f"health-{uuid.uuid4().hex[:12]}"
    response = await client.get("/health", headers={"X-Trace-Id": trace_id})
    assert response.status_code == 200
    assert response.headers["x-trace-id"] == trace_id, "every response carries the trace id"
    await client.get("/items/1", headers={"X-Trace-Id": trace_id})
    rows = await wait_for_rows(db, "trace_id = $1", trace_id, count=1)
    assert [r["endpoint"] for r in rows] == ["/items/{item_id}"]
