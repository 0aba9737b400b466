"""Oversized request bodies are refused with a 413 that says why, and recorded like any answer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from aiops_telemetry.limits import DEFAULT_MAX_BODY_BYTES
from tests.conftest import Shop
from tests.support.telemetry_rows import wait_for_rows

# Valid JSON, one byte over the limit: only its size is wrong.
OVERSIZED = json.dumps(
    {"amount": 5, "currency": "USD", "card_token": "x" * DEFAULT_MAX_BODY_BYTES}
).encode()


async def test_oversized_body_is_413_naming_the_limit_and_recorded(
    shop: Shop, db: asyncpg.Connection
) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{shop.payment.url}/payment",
            content=OVERSIZED,
            headers={"content-type": "application/json", "X-Trace-Id": "too-big-1"},
        )
    assert response.status_code == 413
    body = response.json()
    assert f"{DEFAULT_MAX_BODY_BYTES} bytes" in body["detail"]
    assert "AIOPS_MAX_BODY_BYTES" in body["detail"]
    assert response.headers["x-trace-id"] == "too-big-1"
    [row] = await wait_for_rows(db, "trace_id = $1", "too-big-1", count=1)
    assert (row["endpoint"], row["status_code"]) == ("/payment", 413)


@pytest.mark.parametrize("size", [1 << 20, 10 << 20])
async def test_large_bodies_get_their_413_not_a_reset(shop: Shop, size: int) -> None:
    """The refused body is read and dropped first: closing on unread data would reset the
    connection and lose the answer. Repeated, since that loss was a race."""
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(3):
            response = await client.post(
                f"{shop.payment.url}/payment",
                content=b"x" * size,
                headers={"content-type": "application/json"},
            )
            assert response.status_code == 413
            assert "AIOPS_MAX_BODY_BYTES" in response.json()["detail"]


@pytest.mark.parametrize("size", [DEFAULT_MAX_BODY_BYTES + 8192, 4 << 20])
async def test_oversized_streamed_body_without_a_length_is_413(shop: Shop, size: int) -> None:
    """A chunked body declares no size; the limit counts what actually arrives."""
    chunk = b" " * 8192  # JSON whitespace: only the size is wrong

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(size // len(chunk)):
            yield chunk

    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            f"{shop.checkout.url}/checkout",
            content=chunks(),
            headers={"content-type": "application/json"},
        )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert "AIOPS_MAX_BODY_BYTES" in response.json()["detail"]


async def test_body_under_the_limit_reaches_validation(shop: Shop) -> None:
    """The limit is about size only: a large body within it is judged on its content (422)."""
    body = {"amount": 5, "currency": "USD", "card_token": "x" * (DEFAULT_MAX_BODY_BYTES // 2)}
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{shop.payment.url}/payment", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "card_token"]
