"""The analyzer's API in-process (`create_app` with its lifespan) on the real PostgreSQL and
Redis: cycles over real shop telemetry, metrics, and the incident endpoints' answers."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from pydantic import TypeAdapter

from aiops_api.analyzer import (
    BASELINES,
    INCIDENTS,
    AnalyzeResult,
    AnalyzerHealth,
    Anomalies,
    IncidentDetail,
)
from aiops_api.common import ErrorDetail
from aiops_engine.incidents import Incident, Status
from aiops_engine.incidents.lifecycle import changes
from aiops_telemetry import apply_migrations
from analyzer.app import create_app
from analyzer.settings import AnalyzerSettings
from analyzer.store import incident_history
from tests.conftest import Shop
from tests.support.asgi import lifespan_client
from tests.support.containers import ContainerRedis

from .dashboard_support import slow_payment_incident, store

ORDER = {"items": [{"sku": "SKU-001", "quantity": 1}], "amount": 19.99, "currency": "USD"}
ANALYZED: TypeAdapter[AnalyzeResult] = TypeAdapter(AnalyzeResult)


@pytest.fixture(scope="module")
async def analyzer(
    database_url: str, redis_server: ContainerRedis
) -> AsyncIterator[httpx.AsyncClient]:
    settings = AnalyzerSettings(
        database_url=database_url,
        partition_maintenance=False,  # the session database is shared
        redis_url=redis_server.reset(),  # empty: no other leader holds the lock
        analysis_interval=1,
        ingest_lag=0.5,
    )
    async with lifespan_client(create_app(settings)) as client:
        yield client


async def test_cycles_learn_baselines_from_shop_traffic_and_report_metrics(
    shop: Shop, analyzer: httpx.AsyncClient
) -> None:
    """Every answer parses as its model; the shop's endpoints and edges get baselines."""
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(20):
            assert (await client.post(f"{shop.checkout.url}/checkout", json=ORDER)).is_success
    await asyncio.sleep(2.5)  # a cycle runs every second, half a second behind
    ANALYZED.validate_json((await analyzer.post("/analyze")).content)
    baselines = BASELINES.validate_json((await analyzer.get("/baselines")).content)
    Anomalies.model_validate_json((await analyzer.get("/anomalies")).content)
    metrics = (await analyzer.get("/metrics")).text
    health = AnalyzerHealth.model_validate_json((await analyzer.get("/health")).content)
    keys = {(b.kind, b.service, b.target) for b in baselines}
    assert ("endpoint", "checkout", "/checkout") in keys
    assert ("edge", "checkout", "payment") in keys
    assert (health.status, health.role) == ("ok", "leader")
    assert (health.database.status, health.database.error) == ("ok", None)
    assert health.cycles >= 1
    cycles = next(
        line for line in metrics.splitlines() if line.startswith("aiops_analyzer_cycles_total")
    )
    assert int(cycles.split()[1]) >= 1
    assert 'aiops_analyzer_anomalies_total{type="latency"}' in metrics
    # Healthy traffic: every key judged, none skipped (the counter is there, at 0).
    assert "aiops_analyzer_keys_skipped_total 0" in metrics.splitlines()


async def recorded(conn: asyncpg.Connection, redis: ContainerRedis | None) -> Incident:
    """An open incident in the history table and, unless `redis` is None, in Redis."""
    await apply_migrations(conn, component="analyzer", package="analyzer")
    incident = slow_payment_incident(trace_id=secrets.token_hex(16))
    if redis is not None:
        await store(redis.url, incident)
    await incident_history.append(conn, changes(None, incident, now=incident.opened_at))
    return incident


async def test_an_incident_is_listed_shown_with_history_acknowledged_and_resolved_once(
    analyzer: httpx.AsyncClient, redis_server: ContainerRedis, db: asyncpg.Connection
) -> None:
    """Each answer is the stored incident; resolving it again is a 409 with a reason."""
    incident = await recorded(db, redis_server)
    listed = INCIDENTS.validate_json((await analyzer.get("/incidents?status=open")).content)
    assert incident in listed
    shown = IncidentDetail.model_validate_json(
        (await analyzer.get(f"/incidents/{incident.id}")).content
    )
    assert (shown.incident, shown.expired) == (incident, False)
    assert [(h.event, h.status) for h in shown.history] == [("opened", "open")]
    acked = await analyzer.post(f"/incidents/{incident.id}/acknowledge")
    assert Incident.model_validate_json(acked.content).status is Status.ACKNOWLEDGED
    resolved = await analyzer.post(f"/incidents/{incident.id}/resolve")
    assert Incident.model_validate_json(resolved.content).resolved_by == "user"
    again = await analyzer.post(f"/incidents/{incident.id}/resolve")
    assert again.status_code == 409
    assert ErrorDetail.model_validate_json(again.content).detail.endswith("already resolved")


async def test_an_incident_gone_from_redis_shows_its_history_and_an_unknown_one_is_404(
    analyzer: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """Expired: no incident, `expired`, the history; never stored: 404 naming the list."""
    gone = await recorded(db, redis=None)
    shown = IncidentDetail.model_validate_json(
        (await analyzer.get(f"/incidents/{gone.id}")).content
    )
    assert (shown.incident, shown.expired) == (None, True)
    assert [h.incident_id for h in shown.history] == [gone.id]
    unknown = await analyzer.get("/incidents/INC-never")
    assert unknown.status_code == 404
    assert ErrorDetail.model_validate_json(unknown.content).detail == (
        "no incident INC-never; list them at GET /incidents"
    )
    missing = await analyzer.post("/incidents/INC-never/acknowledge")
    assert (missing.status_code, missing.json()) == (
        404, {"detail": "no incident INC-never in Redis (expired or never existed)"},
    )  # fmt: skip
