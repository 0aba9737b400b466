"""`record_exception`: a handled exception fails the request's span, its answer unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from aiops_telemetry import record_exception
from tests.support.telemetry_rows import recorded_client, wait_for_rows


class CardRejected(Exception):
    pass


def routes() -> FastAPI:
    app = FastAPI()

    @app.get("/fallback")
    async def fallback() -> dict[str, str]:
        try:
            raise CardRejected("issuer timed out; answered from the cache")
        except CardRejected as exc:
            record_exception(exc)
        return {"status": "cached"}

    @app.get("/sync")
    def in_the_thread_pool() -> dict[str, bool]:
        return {"recorded": record_exception(ValueError("recorded from a worker thread"))}

    @app.get("/twice")
    async def twice() -> dict[str, str]:
        record_exception(KeyError("the first"))
        record_exception(KeyError("the second"))
        return {"status": "ok"}

    @app.get("/then-boom")
    async def then_boom() -> None:
        record_exception(ValueError("handled"))
        raise RuntimeError("then unhandled")

    return app


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with recorded_client(database_url, routes(), "record-test") as client:
        yield client


async def row_of(db: asyncpg.Connection, response: httpx.Response) -> asyncpg.Record:
    [row] = await wait_for_rows(db, "trace_id = $1", response.headers["x-trace-id"], count=1)
    return row


async def test_a_handled_exception_fails_the_span_and_the_answer_stays_200(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """The row says exception, with the traceback and `Type: message`; the status stays 200."""
    response = await client.get("/fallback")
    assert (response.status_code, response.json()) == (200, {"status": "cached"})
    row = await row_of(db, response)
    assert (row["status_code"], row["error_kind"]) == (200, "exception")
    assert row["error_message"].startswith("Traceback (most recent call last)")
    assert "in fallback" in row["error_message"]
    last_line = row["error_message"].splitlines()[-1]
    assert last_line == f"{__name__}.CardRejected: issuer timed out; answered from the cache"


async def test_sync_code_in_the_thread_pool_records_on_the_same_span(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """A sync handler runs in a copied context on another thread: its record still lands."""
    response = await client.get("/sync")
    assert response.json() == {"recorded": True}
    row = await row_of(db, response)
    assert row["error_kind"] == "exception"
    assert row["error_message"] == "ValueError: recorded from a worker thread\n"


async def test_the_first_recorded_exception_is_kept(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    row = await row_of(db, await client.get("/twice"))
    assert row["error_message"] == "KeyError: 'the first'\n"


async def test_an_unhandled_exception_after_a_recorded_one_is_what_the_row_keeps(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """The request failed with the unhandled one: a 500 and that exception's traceback."""
    response = await client.get("/then-boom")
    assert response.status_code == 500
    row = await row_of(db, response)
    assert (row["status_code"], row["error_kind"]) == (500, "exception")
    assert "RuntimeError: then unhandled" in row["error_message"]
    assert "ValueError" not in row["error_message"]


def test_outside_a_request_there_is_no_span_to_record_on() -> None:
    assert record_exception(RuntimeError("no request here")) is False
