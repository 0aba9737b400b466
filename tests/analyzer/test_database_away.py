"""PostgreSQL stopped under the analyzer (in-process, on a database the test may stop): every
route that reads it answers 503 with a JSON reason, as documented; /health and /metrics still
answer, /health saying the database is down; once it is back, the routes answer 200 again."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
import schemathesis
from pydantic import TypeAdapter

from aiops_api.analyzer import AnalyzerHealth
from aiops_api.common import ErrorDetail
from aiops_engine.incidents.lifecycle import changes
from aiops_telemetry import COLUMNS
from analyzer.app import create_app
from analyzer.settings import AnalyzerSettings
from analyzer.store import incident_history
from tests.support.asgi import lifespan_client
from tests.support.containers import ContainerPostgres, ContainerRedis, Containers
from tests.support.polling import eventually
from tests.support.telemetry_rows import schema_connection, span

from .dashboard_support import slow_payment_incident

BACK_WITHIN_S = 30.0  # the pool reconnects and the analyzer's `Database` lets requests by
HEALTH = TypeAdapter(AnalyzerHealth)


@dataclass(frozen=True)
class Analyzer:
    client: httpx.AsyncClient
    postgres: ContainerPostgres
    spec: schemathesis.BaseSchema  # the app's own OpenAPI document
    routes: list[tuple[str, str, str]]  # method, path template, path: each reads PostgreSQL


@pytest.fixture(scope="module")
def outage_postgres(containers: Containers) -> Iterator[ContainerPostgres]:
    """tests/compose.yaml's PostgreSQL of its own: stopping it disturbs no other test.
    Removed afterwards, so whoever uses it next starts from a fresh one, running."""
    postgres = containers.postgres("outage-postgres")
    try:
        yield postgres
    finally:
        postgres.destroy()


@pytest.fixture(scope="module")
async def analyzer(
    outage_postgres: ContainerPostgres, redis_server: ContainerRedis
) -> AsyncIterator[Analyzer]:
    """The analyzer leading on `outage_postgres`, with an incident's history and a trace there,
    so that every route has something to answer 200 with."""
    settings = AnalyzerSettings(
        database_url=outage_postgres.dsn,
        redis_url=redis_server.reset(),  # empty: no other leader holds the lock
        analysis_interval=300,  # no cycle but the test's own
    )
    app = create_app(settings)
    async with lifespan_client(app) as client:

        async def leads() -> bool:
            return HEALTH.validate_json((await client.get("/health")).content).role == "leader"

        await eventually(leads, within=15, what="the analyzer takes the lead", every=0.1)
        incident_id, trace_id = await seed(outage_postgres.dsn)
        routes = [
            ("GET", "/anomalies", "/anomalies"),
            ("GET", "/baselines", "/baselines"),
            ("POST", "/analyze", "/analyze"),
            ("GET", "/incidents/{incident_id}", f"/incidents/{incident_id}"),
            ("GET", "/dependencies", "/dependencies"),
            ("GET", "/traces/{trace_id}", f"/traces/{trace_id}"),
            ("GET", "/latency", "/latency"),
        ]
        spec = schemathesis.openapi.from_dict(app.openapi())
        yield Analyzer(client, outage_postgres, spec, routes)


async def seed(dsn: str) -> tuple[str, str]:
    """An incident in the history (gone from Redis: its history alone answers) and a span."""
    trace_id = secrets.token_hex(16)
    incident = slow_payment_incident(trace_id)
    async with schema_connection(dsn, analyzer=True) as conn:
        await incident_history.append(conn, changes(None, incident, now=incident.opened_at))
        row = span("away-checkout", at=datetime.now(UTC), endpoint="/checkout", trace_id=trace_id)
        await conn.copy_records_to_table("telemetry", columns=COLUMNS, records=[row])
    return incident.id, trace_id


@contextmanager
def stopped(postgres: ContainerPostgres) -> Iterator[None]:
    """PostgreSQL stopped (connections refused) inside; started again after, even on failure."""
    postgres.stop()
    try:
        yield
    finally:
        postgres.start()


async def answers(analyzer: Analyzer, method: str, path: str, status: int) -> bool:
    return (await analyzer.client.request(method, path)).status_code == status


async def all_answer_200(analyzer: Analyzer) -> None:
    for method, _, path in analyzer.routes:

        async def ok(method: str = method, path: str = path) -> bool:
            return await answers(analyzer, method, path, 200)

        await eventually(ok, within=BACK_WITHIN_S, what=f"{method} {path} answers 200", every=0.2)


async def test_every_route_that_reads_postgresql_answers_503_while_it_is_away_then_200(
    analyzer: Analyzer,
) -> None:
    """A JSON `detail` naming PostgreSQL and what to do, true to the documented `ErrorDetail`,
    instead of a plain-text 500; the same routes answer 200 before and after."""
    await all_answer_200(analyzer)
    with stopped(analyzer.postgres):
        for method, template, path in analyzer.routes:
            response = await analyzer.client.request(method, path)
            assert response.status_code == 503, (method, path, response.text)
            assert response.headers["content-type"] == "application/json", (method, path)
            analyzer.spec[template][method].validate_response(response)
            detail = ErrorDetail.model_validate_json(response.content).detail
            assert detail.startswith("PostgreSQL is unreachable ("), (path, detail)
            assert "try again shortly" in detail, (path, detail)
    await all_answer_200(analyzer)


async def test_health_and_metrics_answer_while_postgresql_is_away_and_health_says_so(
    analyzer: Analyzer,
) -> None:
    """/health is 200 and `degraded`, its `database` unreachable with the reason; /metrics
    is served from memory. Once PostgreSQL is back, /health reports it ok again."""

    async def database_ok() -> bool:
        health = HEALTH.validate_json((await analyzer.client.get("/health")).content)
        return health.database.status == "ok"

    await eventually(database_ok, within=BACK_WITHIN_S, what="/health: database ok", every=0.2)
    with stopped(analyzer.postgres):
        response = await analyzer.client.get("/health")
        assert response.status_code == 200, response.text
        analyzer.spec["/health"]["GET"].validate_response(response)
        health = HEALTH.validate_json(response.content)
        assert (health.status, health.database.status) == ("degraded", "unreachable")
        assert health.database.error, health
        assert health.redis.status == "ok"  # only PostgreSQL is away
        metrics = await analyzer.client.get("/metrics")
        assert metrics.status_code == 200, metrics.text
        assert "aiops_analyzer_cycles_total" in metrics.text
    await eventually(database_ok, within=BACK_WITHIN_S, what="/health: database ok", every=0.2)
