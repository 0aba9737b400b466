"""What shop users see: validation, stock rules, and clean answers when a hop fails."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from aiops_api.shop import CheckoutError
from tests.conftest import Shop, service_env
from tests.support.fake_http import fake_server
from tests.support.polling import eventually
from tests.support.processes import ServiceProcess, free_port
from tests.support.telemetry_rows import wait_for_rows

ORDER = {"items": [{"sku": "SKU-001", "quantity": 1}], "amount": 19.99, "currency": "USD"}
CHAOS = {"X-Chaos-Token": "shop-api-chaos-token"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": -5, "currency": "USD"}, "amount"),
        ({"amount": 0, "currency": "USD"}, "amount"),
        ({"amount": 5, "currency": "usd"}, "currency"),
        ({"amount": 5}, "currency"),
        ({"amount": "lots", "currency": "USD"}, "amount"),
        ({"amount": 5, "currency": "USD", "surprise": 1}, "surprise"),
    ],
)
async def test_payment_rejects_bad_input_with_422_naming_the_field(
    shop: Shop, body: dict[str, object], field: str
) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{shop.payment.url}/payment", json=body)
    assert response.status_code == 422
    assert any(field in error["loc"] for error in response.json()["detail"])


async def test_payment_declines_a_declined_card(shop: Shop) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{shop.payment.url}/payment",
            json={"amount": 5, "currency": "USD", "card_token": "tok_declined"},
        )
    assert response.status_code == 402
    assert response.json() == {
        "detail": "card declined",
        "trace_id": response.headers["x-trace-id"],
    }


async def test_checkout_rejects_an_empty_order(shop: Shop) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{shop.checkout.url}/checkout", json={**ORDER, "items": []})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "items"]


async def test_inventory_lists_stock_and_answers_404_for_unknown_sku(shop: Shop) -> None:
    async with httpx.AsyncClient(base_url=shop.inventory.url) as client:
        listing = await client.get("/inventory")
        missing = await client.get("/inventory/SKU-NOPE")
        reserve_missing = await client.post(
            "/inventory/reserve", json={"items": [{"sku": "SKU-NOPE", "quantity": 1}]}
        )
    assert "SKU-001" in {item["sku"] for item in listing.json()}
    assert missing.status_code == 404
    assert missing.json()["detail"] == "unknown SKU 'SKU-NOPE'"
    assert reserve_missing.status_code == 404
    assert reserve_missing.json()["trace_id"] == reserve_missing.headers["x-trace-id"]


async def test_insufficient_stock_is_409_and_reserves_nothing(
    shop: Shop, db: asyncpg.Connection
) -> None:
    """A multi-line reservation is all or nothing."""
    await db.execute(
        "INSERT INTO inventory_stock (sku, name, unit_price, quantity) VALUES "
        "('T-ATOMIC-A', 'a', 1, 10), ('T-ATOMIC-B', 'b', 1, 1) "
        "ON CONFLICT (sku) DO UPDATE SET quantity = EXCLUDED.quantity"
    )
    lines = [{"sku": "T-ATOMIC-A", "quantity": 3}, {"sku": "T-ATOMIC-B", "quantity": 2}]
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{shop.inventory.url}/inventory/reserve", json={"items": lines}
        )
    assert response.status_code == 409
    assert response.json() | {"trace_id": None} == {
        "detail": "insufficient stock for 'T-ATOMIC-B': requested 2, available 1",
        "sku": "T-ATOMIC-B",
        "requested": 2,
        "available": 1,
        "trace_id": None,
    }
    rows = await db.fetch("SELECT sku, quantity FROM inventory_stock WHERE sku LIKE 'T-ATOMIC-%'")
    stock = {row["sku"]: row["quantity"] for row in rows}
    assert stock == {"T-ATOMIC-A": 10, "T-ATOMIC-B": 1}


async def test_concurrent_reservations_never_oversell(shop: Shop, db: asyncpg.Connection) -> None:
    """60 buyers race for 20 units: exactly 20 win, the rest get 409, stock ends at 0."""
    await db.execute(
        "INSERT INTO inventory_stock (sku, name, unit_price, quantity) "
        "VALUES ('T-RACE', 'race', 1, 20) ON CONFLICT (sku) DO UPDATE SET quantity = 20"
    )
    body = {"items": [{"sku": "T-RACE", "quantity": 1}]}
    limits = httpx.Limits(max_connections=60)
    async with httpx.AsyncClient(base_url=shop.inventory.url, limits=limits, timeout=30) as client:
        responses = await asyncio.gather(
            *(client.post("/inventory/reserve", json=body) for _ in range(60))
        )
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 20
    assert codes.count(409) == 40
    assert await db.fetchval("SELECT quantity FROM inventory_stock WHERE sku = 'T-RACE'") == 0


async def test_checkout_passes_through_stock_errors_with_its_trace_id(shop: Shop) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{shop.checkout.url}/checkout",
            json={**ORDER, "items": [{"sku": "SKU-NOPE", "quantity": 1}]},
        )
    assert response.status_code == 404
    body = CheckoutError.model_validate_json(response.content)
    assert body.service == "inventory"
    assert body.trace_id == response.headers["x-trace-id"]
    # The order failed after payment: its payment is voided, and the answer says so.
    assert body.payment is not None
    assert body.payment.status == "voided"


@pytest.fixture(scope="module")
def slow_payment(database_url: str) -> Iterator[ServiceProcess]:
    """A payment whose `POST /payment` takes 3 s (its voids do not), for a checkout that
    gives up after 0.3 s."""
    process = ServiceProcess(
        "payment.app:create_app",
        service_env(database_url, AIOPS_CHAOS_TOKEN=CHAOS["X-Chaos-Token"]),
    ).start()
    try:
        delay = httpx.post(
            f"{process.url}/simulate/delay",
            params={"endpoint": "/payment", "duration": 3000},
            headers=CHAOS,
        )
        assert delay.status_code == 201, delay.text
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def fragile_checkout(
    database_url: str, shop: Shop, slow_payment: ServiceProcess
) -> Iterator[dict[str, str]]:
    """Two checkouts: one whose payment is slow, one whose payment is not listening at all."""
    env = service_env(
        database_url, AIOPS_INVENTORY_URL=shop.inventory.url, AIOPS_DOWNSTREAM_TIMEOUT="0.3"
    )
    slow = ServiceProcess(
        "checkout.app:create_app", {**env, "AIOPS_PAYMENT_URL": slow_payment.url}
    ).start()
    down = ServiceProcess(
        "checkout.app:create_app", {**env, "AIOPS_PAYMENT_URL": f"http://127.0.0.1:{free_port()}"}
    ).start()
    yield {"slow": slow.url, "down": down.url}
    slow.stop()
    down.stop()


async def failed_checkout(url: str, status: int) -> dict[str, Any]:
    """ORDER to the checkout at `url`, answered `status` with the request's trace id; the body."""
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(f"{url}/checkout", json=ORDER)
    assert response.status_code == status
    body: dict[str, Any] = response.json()
    assert body["trace_id"] == response.headers["x-trace-id"]
    return body


async def test_payment_timeout_is_a_504_and_a_timeout_client_span(
    fragile_checkout: dict[str, str], db: asyncpg.Connection
) -> None:
    """Payment may still authorize after checkout gave up: checkout voids the order at
    payment before it answers, and says so."""
    body = await failed_checkout(fragile_checkout["slow"], 504)
    assert body == {
        "detail": "payment did not answer within 0.3s",
        "service": "payment",
        "trace_id": body["trace_id"],
        "order_id": body["order_id"],
        "payment": {"id": None, "status": "voided"},
    }
    where = "trace_id = $1 AND kind = 'client' AND method <> 'SQL'"
    rows = await wait_for_rows(db, where, body["trace_id"], count=2)
    assert [(r["endpoint"], r["status_code"], r["error_kind"]) for r in rows] == [
        ("/payment", None, "timeout"),
        ("/payment/orders/{order_id}/void", 200, None),
    ]
    assert {r["peer_service"] for r in rows} == {"payment"}


async def test_payment_down_is_a_503_and_a_connection_refused_client_span(
    fragile_checkout: dict[str, str], db: asyncpg.Connection
) -> None:
    body = await failed_checkout(fragile_checkout["down"], 503)
    assert body["detail"] == "payment is unreachable (connection_refused)"
    assert "payment" not in body  # never reached payment: nothing to void
    rows = await wait_for_rows(db, "trace_id = $1", body["trace_id"], count=2)
    by_kind = {r["kind"]: r for r in rows}
    assert by_kind["server"]["status_code"] == 503
    assert by_kind["client"]["error_kind"] == "connection_refused"
    assert by_kind["client"]["parent_span_id"] == by_kind["server"]["span_id"]


async def test_health_reports_name_version_and_pipeline(shop: Shop) -> None:
    async with httpx.AsyncClient() as client:
        health = {
            name: (await client.get(f"{process.url}/health")).json()
            for name, process in (
                ("checkout", shop.checkout),
                ("payment", shop.payment),
                ("inventory", shop.inventory),
            )
        }
    for name, body in health.items():
        assert body["service"] == name
        assert body["version"] == "0.1.0"
        assert body["status"] == "ok"
        assert set(body["telemetry"]) >= {
            "buffered",
            "written",
            "dropped",
            "last_flush_error",
            "state",
        }
    assert health["inventory"]["checks"] == {"database": "ok"}


async def test_health_probes_leave_no_rows_not_even_their_database_check(
    shop: Shop, db: asyncpg.Connection
) -> None:
    """Probes every few seconds would otherwise fill telemetry with orphan queries."""
    async with httpx.AsyncClient(base_url=shop.inventory.url) as client:
        for _ in range(3):
            await client.get("/health", headers={"X-Trace-Id": "probe-1"})
        await client.get("/inventory", headers={"X-Trace-Id": "probe-1"})
    rows = await wait_for_rows(db, "trace_id = $1", "probe-1", count=2)
    assert {(r["kind"], r["endpoint"]) for r in rows} == {
        ("server", "/inventory"),
        ("client", "SELECT inventory_stock"),
    }


async def test_repeated_lines_of_one_sku_are_summed_not_rejected(shop: Shop) -> None:
    """Two lines of 600 make one reservation of 1,200, though one line may hold at most 1,000."""
    lines = [{"sku": "SKU-002", "quantity": 600}, {"sku": "SKU-002", "quantity": 600}]
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{shop.inventory.url}/inventory/reserve", json={"items": lines}
        )
    assert response.status_code == 201, response.text
    assert response.json()["items"] == [{"sku": "SKU-002", "quantity": 1200}]


@pytest.mark.parametrize(
    ("status", "body", "detail", "voided"),
    [
        (200, {"unexpected": True}, "payment sent an unexpected answer", True),
        (200, ["not", "an", "object"], "payment sent an unexpected answer", True),
        (500, {"detail": "boom"}, "payment failed with HTTP 500: boom", True),
        (503, {"detail": "away"}, "payment failed with HTTP 503: away", False),
        (404, {"detail": "Not Found"}, "payment failed with HTTP 404: Not Found", False),
    ],
)
async def test_checkout_answers_502_when_payment_misbehaves(
    database_url: str,
    shop: Shop,
    db: asyncpg.Connection,
    status: int,
    body: object,
    detail: str,
    voided: bool,
) -> None:
    """A malformed answer, a 5xx, or a 404 from a misrouted payment URL, is payment's
    fault: 502.

    Only payment's own 402 reaches the caller as it is; a 404 from payment
    must not pass for inventory's "unknown SKU". An answer that may hide an
    authorization (a 5xx but payment's 503, an unreadable success) has the order
    voided at payment: here the fake payment cannot, so the void stays pending until
    a checkout sharing the ledger (the shop's) voids it at the real payment.
    """
    async with fake_server(status=status, body=body) as payment:
        env = service_env(database_url, AIOPS_INVENTORY_URL=shop.inventory.url)
        checkout = ServiceProcess(
            "checkout.app:create_app", {**env, "AIOPS_PAYMENT_URL": payment.url}
        )
        await asyncio.to_thread(checkout.start)
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.post(f"{checkout.url}/checkout", json=ORDER)
        finally:
            await asyncio.to_thread(checkout.stop)
    assert response.status_code == 502
    answer = response.json()
    assert answer["detail"] == detail
    assert answer["service"] == "payment"
    if not voided:
        assert "payment" not in answer
        return
    assert answer["payment"] == {"id": None, "status": "void_pending"}

    async def done() -> bool:
        status: str | None = await db.fetchval(
            "SELECT status FROM checkout_payment_voids WHERE order_id = $1", answer["order_id"]
        )
        return status == "voided"

    await eventually(done, within=60, what="another checkout voiding the order", every=0.2)
