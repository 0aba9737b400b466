"""`annotate`: a handler's attributes land in its server span's `attributes`, storable whatever
they are; and the real checkout puts each confirmed order's amount on its span."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from aiops_telemetry import annotate
from aiops_telemetry.context import MAX_ANNOTATIONS
from tests.conftest import Shop
from tests.support.telemetry_rows import recorded_client, wait_for_rows

ORDER = {"items": [{"sku": "SKU-001", "quantity": 1}], "amount": 19.99, "currency": "USD"}


def routes() -> FastAPI:
    app = FastAPI()

    @app.get("/order")
    async def order() -> dict[str, bool]:
        annotate("order.amount", 12.5)
        annotate("order.items", 3)
        annotate("customer.tier", "gold")
        annotate("order.gift", True)
        annotate("order.amount", 42.0)  # set again: the last value is kept
        return {"ok": True}

    @app.get("/odd")
    async def odd() -> dict[str, bool]:
        annotate("ratio", math.inf)
        annotate("nan", math.nan)
        annotate("text", "a\x00b\ud800c" + "x" * 5000)
        annotate("k\x00ey", "v")
        return {"ok": True}

    @app.get("/many")
    async def many() -> list[bool]:
        return [annotate(f"k{i}", i) for i in range(MAX_ANNOTATIONS + 2)]

    @app.get("/sync")
    def in_the_thread_pool() -> dict[str, bool]:
        return {"annotated": annotate("where", "thread pool")}

    @app.get("/plain")
    async def plain() -> dict[str, bool]:
        return {"ok": True}

    return app


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with recorded_client(database_url, routes(), "annotate-test") as client:
        yield client


async def attributes_of(db: asyncpg.Connection, response: httpx.Response) -> object:
    [row] = await wait_for_rows(db, "trace_id = $1", response.headers["x-trace-id"], count=1)
    return None if row["attributes"] is None else json.loads(row["attributes"])


async def test_a_handlers_attributes_land_in_its_spans_row(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    response = await client.get("/order")
    assert await attributes_of(db, response) == {
        "order.amount": 42.0,
        "order.items": 3,
        "customer.tier": "gold",
        "order.gift": True,
    }
    amount = await db.fetchval(
        "SELECT (attributes ->> 'order.amount')::float8 FROM telemetry WHERE trace_id = $1",
        response.headers["x-trace-id"],
    )
    assert amount == 42.0  # a JSON number, as the analyzer's revenue query reads it


async def test_values_jsonb_cannot_hold_are_stored_in_a_form_it_can(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """Infinity and NaN by name, NUL escaped, a lone surrogate replaced, text bounded: the
    row is written, never refused for an annotation."""
    attributes = await attributes_of(db, await client.get("/odd"))
    assert isinstance(attributes, dict)
    assert (attributes["ratio"], attributes["nan"]) == ("Infinity", "NaN")
    assert attributes["text"].startswith("a\\0b?c")
    assert len(attributes["text"]) <= 1_024
    assert attributes["k\\0ey"] == "v"


async def test_a_span_takes_a_bounded_number_of_attributes(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    response = await client.get("/many")
    assert response.json() == [True] * MAX_ANNOTATIONS + [False, False]
    attributes = await attributes_of(db, response)
    assert isinstance(attributes, dict)
    assert len(attributes) == MAX_ANNOTATIONS


async def test_sync_code_annotates_the_same_span_and_a_plain_request_has_none(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    response = await client.get("/sync")
    assert response.json() == {"annotated": True}
    assert await attributes_of(db, response) == {"where": "thread pool"}
    assert await attributes_of(db, await client.get("/plain")) is None


def test_outside_a_request_nothing_is_recorded() -> None:
    assert annotate("order.amount", 1.0) is False


async def test_checkout_puts_each_confirmed_orders_amount_on_its_span(
    shop: Shop, db: asyncpg.Connection
) -> None:
    """The real shop over HTTP: a confirmed order's span carries `order.amount`; a refused
    one (unknown SKU, its payment voided) carries none."""
    unknown = {**ORDER, "items": [{"sku": "SKU-NONE", "quantity": 1}]}
    async with httpx.AsyncClient(timeout=10) as client:
        confirmed = await client.post(f"{shop.checkout.url}/checkout", json=ORDER)
        refused = await client.post(f"{shop.checkout.url}/checkout", json=unknown)
    assert confirmed.status_code == 200, confirmed.text
    assert refused.status_code == 404, refused.text
    where = "trace_id = $1 AND service_name = 'checkout' AND kind = 'server'"
    [row] = await wait_for_rows(db, where, confirmed.headers["x-trace-id"], count=1)
    assert json.loads(row["attributes"]) == {"order.amount": 19.99}
    [row] = await wait_for_rows(db, where, refused.headers["x-trace-id"], count=1)
    assert row["attributes"] is None
