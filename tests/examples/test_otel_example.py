"""A user's OpenTelemetry app (examples/otel-shop) seen by the analyzer through OTLP ingest.

Real processes only: the `ingest` receiver, the example's catalog and pricing
(traced by the OpenTelemetry SDK and exporting with its stock OTLP/HTTP
exporter, configured by OTEL_* variables alone), and the analyzer, on the
session's PostgreSQL and Redis.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from tests.conftest import service_env
from tests.support.containers import ContainerRedis
from tests.support.polling import eventually
from tests.support.processes import ServiceProcess
from tests.support.traffic import open_loop

from .live_analyzer import analyzer_env, established, forget_learned_state, open_incident

PRICE_ROUTE = "/prices/{sku}"


def exporting_to(ingest: ServiceProcess, service: str, **extra: str) -> dict[str, str]:
    """A process's environment as a user would set it for the stock SDK and exporter."""
    return {
        "OTEL_SERVICE_NAME": service,
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": ingest.url,
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # ms between batches (default 5000)
        **extra,
    }


@dataclass(frozen=True)
class Example:
    catalog: ServiceProcess
    pricing: ServiceProcess
    analyzer: ServiceProcess


@pytest.fixture
async def example(database_url: str, redis_server: ContainerRedis) -> AsyncIterator[Example]:
    await forget_learned_state(database_url)
    started: list[ServiceProcess] = []

    def start(app: str, env: dict[str, str]) -> ServiceProcess:
        process = ServiceProcess(app, env).start()
        started.append(process)
        return process

    try:
        ingest = start("ingest.app:create_app", service_env(database_url))
        pricing = start("otel_shop.pricing:create_app", exporting_to(ingest, "pricing"))
        catalog = start(
            "otel_shop.catalog:create_app",
            exporting_to(ingest, "catalog", PRICING_URL=pricing.url),
        )
        analyzer = start(
            "analyzer.app:create_app", analyzer_env(database_url, redis_server.reset())
        )
        yield Example(catalog, pricing, analyzer)
    finally:
        for process in reversed(started):
            process.stop()


SKUS = ("SKU-001", "SKU-002", "SKU-003")


@contextlib.asynccontextmanager
async def browsing(catalog: str, per_second: float = 20) -> AsyncIterator[dict[int, int]]:
    """Open-loop GETs of catalog's products until the block ends; counts by status."""
    statuses: dict[int, int] = {}

    async def get(client: httpx.AsyncClient, n: int) -> None:
        sku = SKUS[n % len(SKUS)]
        try:
            status = (await client.get(f"{catalog}/products/{sku}")).status_code
        except httpx.HTTPError:
            status = 0
        statuses[status] = statuses.get(status, 0) + 1

    async with open_loop(get, per_second=per_second):
        yield statuses


# One trace across both services: catalog's server span, its client call under it, and
# pricing's server span under that call.
_ONE_TRACE_SQL = """
SELECT s.trace_id, c.peer_service, c.endpoint AS call_endpoint, c.status_code AS call_status
FROM telemetry AS s
JOIN telemetry AS c ON c.trace_id = s.trace_id AND c.parent_span_id = s.span_id
JOIN telemetry AS p ON p.trace_id = c.trace_id AND p.parent_span_id = c.span_id
WHERE s.service_name = 'catalog' AND s.kind = 'server' AND s.endpoint = '/products/{sku}'
    AND c.service_name = 'catalog' AND c.kind = 'client'
    AND p.service_name = 'pricing' AND p.kind = 'server' AND p.endpoint = '/prices/{sku}'
    AND s.method = 'GET' AND s.status_code = 200 AND p.status_code = 200
LIMIT 1
"""


async def test_the_stock_exporter_lands_spans_edges_and_an_incident_naming_the_faulty_service(
    example: Example, db: asyncpg.Connection
) -> None:
    analyzer = example.analyzer.url
    async with httpx.AsyncClient(timeout=10) as client, browsing(example.catalog.url) as statuses:
        # The SDK's spans are rows: server and client spans, one trace across both services.
        trace = await eventually(
            lambda: db.fetchrow(_ONE_TRACE_SQL), within=30, what="one catalog → pricing trace"
        )
        assert trace["call_status"] == 200

        async def edge() -> bool:
            graph = (await client.get(f"{analyzer}/dependencies")).json()
            return ("catalog", "pricing") in {(e["caller"], e["callee"]) for e in graph["edges"]}

        await eventually(edge, within=30, what="the catalog → pricing edge in /dependencies")
        await established(client, analyzer, "pricing", PRICE_ROUTE)
        assert set(statuses) == {200}

        # A fault in the callee: pricing turns slow, so catalog does too; pricing is the cause.
        fault = await client.post(f"{example.pricing.url}/fault", params={"delay_ms": 500})
        assert fault.json() == {"delay_ms": 500, "error_rate": 0}
        incident = await open_incident(
            client, analyzer, lambda i: i["root_cause"]["service"] == "pricing"
        )
    assert incident["root_cause"]["endpoint"] == PRICE_ROUTE, incident
    assert incident["candidates"][0]["service"] == "pricing"
    assert incident["anomalies"]
