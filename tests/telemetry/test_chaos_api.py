"""The chaos API on a real service process: auth, validation, each fault kind, expiry; whether
it is enabled at all, on the app in-process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest

from payment.app import create_app
from payment.settings import PaymentSettings
from tests.conftest import service_env
from tests.support.asgi import lifespan_client
from tests.support.processes import ServiceProcess
from tests.support.telemetry_rows import wait_for_rows

TOKEN = "test-chaos-token"
AUTH = {"X-Chaos-Token": TOKEN}
PAYMENT = {"amount": 5, "currency": "USD"}
Params = dict[str, str | int | float]


@pytest.fixture(scope="module")
def payment(database_url: str) -> Iterator[ServiceProcess]:
    env = service_env(database_url, AIOPS_CHAOS_TOKEN=TOKEN, AIOPS_CHAOS_MAX_TTL="30")
    process = ServiceProcess("payment.app:create_app", env).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def inventory(database_url: str) -> Iterator[ServiceProcess]:
    env = service_env(database_url, AIOPS_CHAOS_TOKEN=TOKEN)
    process = ServiceProcess("inventory.app:create_app", env).start()
    yield process
    process.stop()


@pytest.fixture
async def client(payment: ServiceProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=payment.url, timeout=10) as client:
        yield client
        await client.delete("/simulate", headers=AUTH)


async def test_without_a_configured_token_chaos_is_disabled_and_says_how_to_enable(
    database_url: str,
) -> None:
    settings = PaymentSettings(database_url=database_url, chaos_token=None)
    async with lifespan_client(create_app(settings)) as client:
        response = await client.post(
            "/simulate/error", params={"endpoint": "/payment"}, headers=AUTH
        )
    assert response.status_code == 403
    assert "AIOPS_CHAOS_TOKEN" in response.json()["detail"]


async def test_a_missing_token_is_401_and_a_wrong_one_403(client: httpx.AsyncClient) -> None:
    params: Params = {"endpoint": "/payment", "rate": 1.0}
    missing = await client.post("/simulate/error", params=params)
    wrong = await client.post("/simulate/error", params=params, headers={"X-Chaos-Token": "x"})
    listed = await client.get("/simulate")
    assert (missing.status_code, wrong.status_code, listed.status_code) == (401, 403, 401)
    assert "X-Chaos-Token" in missing.json()["detail"]
    assert (await client.post("/payment", json=PAYMENT)).status_code == 200  # nothing injected


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/simulate/error", {"endpoint": "/payment", "rate": 2}, "rate"),
        ("/simulate/error", {"endpoint": "payment"}, "endpoint"),
        ("/simulate/error", {"endpoint": "/payment", "status": 200}, "status"),
        ("/simulate/delay", {"endpoint": "/payment"}, "duration"),
        ("/simulate/delay", {"endpoint": "/payment", "duration": -1}, "duration"),
        ("/simulate/hang", {"endpoint": "/payment", "ttl": 0}, "ttl"),
        ("/simulate/exception", {"endpoint": "payment"}, "endpoint"),
        ("/simulate/exception", {"endpoint": "/payment", "rate": 0}, "rate"),
        ("/simulate/exception", {}, "endpoint"),
    ],
)
async def test_bad_parameters_are_422_naming_the_parameter(
    client: httpx.AsyncClient, path: str, params: Params, named: str
) -> None:
    response = await client.post(path, params=params, headers=AUTH)
    assert response.status_code == 422
    assert [e["loc"][-1] for e in response.json()["detail"]] == [named]


async def test_the_seed_error_call_fails_every_request_and_telemetry_records_it(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    created = await client.post(
        "/simulate/error", params={"endpoint": "/payment", "rate": 1.0}, headers=AUTH
    )
    assert created.status_code == 201
    fault = created.json()["fault"]
    response = await client.post("/payment", json=PAYMENT)
    assert response.status_code == 500
    assert response.headers["x-chaos-fault"] == fault["id"]
    [row] = await wait_for_rows(
        db, "trace_id = $1", response.headers["x-trace-id"], count=1, timeout=10
    )
    assert (row["service_name"], row["endpoint"], row["status_code"]) == (
        "payment",
        "/payment",
        500,
    )


async def test_an_error_status_of_choice(client: httpx.AsyncClient) -> None:
    params: Params = {"endpoint": "/payment", "status": 503}
    await client.post("/simulate/error", params=params, headers=AUTH)
    assert (await client.post("/payment", json=PAYMENT)).status_code == 503


async def test_the_seed_delay_call_slows_requests_by_the_duration(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    params: Params = {"endpoint": "/payment", "duration": 300}
    assert (await client.post("/simulate/delay", params=params, headers=AUTH)).status_code == 201
    response = await client.post("/payment", json=PAYMENT)
    assert response.status_code == 200
    [row] = await wait_for_rows(
        db, "trace_id = $1 AND kind = 'server'", response.headers["x-trace-id"], count=1, timeout=10
    )
    assert row["latency_ms"] >= 300  # recorded inside the span, as a real slowdown would be


async def test_a_hang_outlasts_a_callers_timeout_then_ends_with_the_fault(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/simulate/hang", params={"endpoint": "/payment", "ttl": 1}, headers=AUTH)
    with pytest.raises(httpx.ReadTimeout):
        await client.post("/payment", json=PAYMENT, timeout=0.3)
    await asyncio.sleep(1.1)  # the fault's ttl
    assert (await client.post("/payment", json=PAYMENT)).status_code == 200


async def test_faults_are_listed_with_their_expiry_and_removed_at_it(
    client: httpx.AsyncClient,
) -> None:
    params: Params = {"endpoint": "/payment", "rate": 1.0, "ttl": 0.5}
    await client.post("/simulate/error", params=params, headers=AUTH)
    [listed] = (await client.get("/simulate", headers=AUTH)).json()["faults"]
    assert (listed["kind"], listed["endpoint"], listed["rate"]) == ("error", "/payment", 1.0)
    assert listed["expires_at"] > listed["created_at"]
    await asyncio.sleep(0.6)
    assert (await client.get("/simulate", headers=AUTH)).json()["faults"] == []
    assert (await client.post("/payment", json=PAYMENT)).status_code == 200


async def test_delete_clears_one_an_endpoints_or_all(client: httpx.AsyncClient) -> None:
    first = await client.post("/simulate/error", params={"endpoint": "/payment"}, headers=AUTH)
    await client.post("/simulate/delay", params={"endpoint": "*", "duration": 1}, headers=AUTH)
    fault_id = first.json()["fault"]["id"]
    assert (await client.delete(f"/simulate/{fault_id}", headers=AUTH)).json()["removed"] == 1
    assert (await client.delete(f"/simulate/{fault_id}", headers=AUTH)).status_code == 404
    assert (await client.delete("/simulate", params={"endpoint": "*"}, headers=AUTH)).json()[
        "removed"
    ] == 1
    assert (await client.get("/simulate", headers=AUTH)).json()["faults"] == []


async def test_a_fault_on_a_route_template_strikes_its_paths(inventory: ServiceProcess) -> None:
    async with httpx.AsyncClient(base_url=inventory.url) as client:
        params: Params = {"endpoint": "/inventory/{sku}"}
        await client.post("/simulate/error", params=params, headers=AUTH)
        try:
            assert (await client.get("/inventory/SKU-001")).status_code == 500
            assert (await client.get("/inventory")).status_code == 200
            reserve = {"items": [{"sku": "SKU-001", "quantity": 1}]}
            assert (await client.post("/inventory/reserve", json=reserve)).status_code == 201
        finally:
            await client.delete("/simulate", headers=AUTH)


async def test_chaos_calls_and_health_are_never_struck_nor_recorded(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await client.post("/simulate/error", params={"endpoint": "*"}, headers=AUTH)
    assert (await client.get("/health")).status_code == 200
    listed = await client.get("/simulate", headers=AUTH)
    assert listed.status_code == 200
    struck = await client.post("/payment", json=PAYMENT)  # recorded, after the chaos call
    assert struck.status_code == 500
    await wait_for_rows(db, "trace_id = $1", struck.headers["x-trace-id"], count=1)
    rows = await db.fetch(
        "SELECT 1 FROM telemetry WHERE trace_id = $1", listed.headers["x-trace-id"]
    )
    assert rows == []


async def test_clearing_a_hang_frees_the_requests_it_holds(client: httpx.AsyncClient) -> None:
    """DELETE ends the fault now: a held request is answered (504), not kept for the ttl."""
    await client.post("/simulate/hang", params={"endpoint": "/payment", "ttl": 30}, headers=AUTH)
    held = asyncio.create_task(client.post("/payment", json=PAYMENT, timeout=20))
    await asyncio.sleep(0.3)
    assert not held.done()
    await client.delete("/simulate", headers=AUTH)
    response = await held
    assert response.status_code == 504
    assert "chaos fault" in response.json()["detail"]


async def test_an_empty_token_disables_chaos_like_no_token(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compose passes AIOPS_CHAOS_TOKEN= when .env has none: that must not open the API."""
    monkeypatch.setenv("AIOPS_CHAOS_TOKEN", "")
    async with lifespan_client(create_app(PaymentSettings(database_url=database_url))) as client:
        response = await client.get("/simulate", headers={"X-Chaos-Token": ""})
    assert response.status_code == 403
    assert "disabled" in response.json()["detail"]
