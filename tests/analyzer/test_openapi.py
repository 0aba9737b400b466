"""The analyzer's OpenAPI document: every operation documents its answer and its errors, and
real answers (the app in-process, on the suite's PostgreSQL and Redis) match the document
and parse as the models `aiops` and the chaos tools read them with."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
import pytest
import schemathesis
from pydantic import TypeAdapter

from aiops_api.analyzer import (
    BASELINES,
    INCIDENTS,
    METRIC_POINTS,
    METRIC_SERIES,
    AnalyzeResult,
    AnalyzerHealth,
    Anomalies,
    Dependencies,
    Incident,
    IncidentDetail,
    Latency,
    NewNormalRequested,
    Trace,
)
from aiops_api.common import ErrorDetail
from aiops_engine.detection import Anomaly, AnomalyType, Baseline, SeriesKey
from aiops_engine.incidents.lifecycle import changes
from aiops_engine.metrics import MetricConfig, judge
from aiops_telemetry import CLIENT, COLUMNS, SERVER, apply_migrations, span_row
from analyzer.app import create_app
from analyzer.settings import AnalyzerSettings
from analyzer.store import anomalies, baselines, incident_history, metric_judgements, metric_states
from tests.support.asgi import lifespan_client
from tests.support.containers import ContainerRedis
from tests.support.polling import eventually

from .dashboard_support import slow_payment_incident, store

# Nothing is connected until the lifespan runs: enough to read the document.
UNSTARTED = AnalyzerSettings(
    database_url="postgresql://aiops@127.0.0.1:9/none", redis_url="redis://127.0.0.1:9/0"
)
NOT_JSON = {("/metrics", "get"): "text/plain"}  # Prometheus' text format
# The statuses each route answers besides 2xx (422: FastAPI's, for bad parameters). 503:
# Redis away for the incident routes, PostgreSQL away for every route that reads it.
ERRORS = {
    ("/health", "get"): set(),
    ("/metrics", "get"): set(),
    ("/anomalies", "get"): {"422", "503"},
    ("/baselines", "get"): {"503"},
    ("/analyze", "post"): {"409", "503"},
    ("/incidents", "get"): {"422", "503"},
    ("/incidents/{incident_id}", "get"): {"404", "422", "503"},
    ("/incidents/{incident_id}/acknowledge", "post"): {"404", "409", "422", "503"},
    ("/incidents/{incident_id}/resolve", "post"): {"404", "409", "422", "503"},
    ("/dependencies", "get"): {"503"},
    ("/traces/{trace_id}", "get"): {"404", "422", "503"},
    ("/latency", "get"): {"422", "503"},
    ("/metric-series", "get"): {"503"},
    ("/metric-series/{series}/points", "get"): {"404", "422", "503"},
    ("/metric-series/{series}/new-normal", "post"): {"404", "422", "503"},
}
SERIES = "openapi:{}/x{{route=/a/{{id}}}}"  # a metric series' name holds `:`, `/`, `{}`, `=`
# Those that read PostgreSQL: their 503 says so.
READS_POSTGRES = {
    ("/anomalies", "get"),
    ("/baselines", "get"),
    ("/analyze", "post"),
    ("/incidents/{incident_id}", "get"),
    ("/dependencies", "get"),
    ("/traces/{trace_id}", "get"),
    ("/latency", "get"),
    ("/metric-series", "get"),
    ("/metric-series/{series}/points", "get"),
    ("/metric-series/{series}/new-normal", "post"),
}


def document() -> dict[str, Any]:
    spec: dict[str, Any] = create_app(UNSTARTED).openapi()
    return spec


def operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (path, method): op for path, item in spec["paths"].items() for method, op in item.items()
    }


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_the_document_is_strict_json() -> None:
    """No NaN or Infinity anywhere (a default of the engine's could bring one): JSON parsers
    and Starlette's own encoder refuse them."""
    json.dumps(document(), allow_nan=False)


def test_every_operation_documents_a_2xx_answer_with_a_schema() -> None:
    """JSON answers name a model with its fields (no bare `object`); /metrics is text."""
    spec = document()
    assert set(operations(spec)) == set(ERRORS)
    for (path, method), op in operations(spec).items():
        ok = {s: r for s, r in op["responses"].items() if s.startswith("2")}
        assert len(ok) == 1, (path, method, ok)
        [answer] = ok.values()
        media = NOT_JSON.get((path, method), "application/json")
        assert list(answer["content"]) == [media], (path, method)
        schema = resolve(spec, answer["content"][media]["schema"])
        if media != "application/json":
            assert schema == {"type": "string"}
            continue
        if schema.get("type") == "array":
            schema = resolve(spec, schema["items"])
        shapes = [resolve(spec, s) for s in schema.get("oneOf", [schema])]
        assert all(s.get("properties") for s in shapes), (path, method, schema)
        assert not any(s.get("additionalProperties") for s in shapes), (path, method)


def test_the_errors_each_route_raises_are_documented_with_their_body() -> None:
    """404, 409 and 503 carry `{"detail": ...}`; FastAPI's 422 its list of problems."""
    spec = document()
    for key, op in operations(spec).items():
        errors = {s for s in op["responses"] if not s.startswith("2")}
        assert errors == ERRORS[key], key
        for status in errors - {"422"}:
            schema = op["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorDetail"}, (key, status)
            assert op["responses"][status]["description"], (key, status)


def test_every_route_that_reads_postgresql_documents_its_outage() -> None:
    """Its 503 names PostgreSQL; the routes that read Redis only do not."""
    for key, op in operations(document()).items():
        meaning = op["responses"].get("503", {}).get("description", "")
        assert ("PostgreSQL" in meaning) == (key in READS_POSTGRES), (key, meaning)


@dataclass(frozen=True)
class Served:
    client: httpx.AsyncClient
    incident: Incident  # open, in Redis and in the history
    expired: Incident  # in the history only
    trace_id: str


@pytest.fixture(scope="module")
async def served(database_url: str, redis_server: ContainerRedis) -> AsyncIterator[Served]:
    redis_url = redis_server.reset()
    settings = AnalyzerSettings(
        database_url=database_url,
        redis_url=redis_url,
        partition_maintenance=False,  # the session database is shared
        analysis_interval=300,  # no cycle but the test's own
    )
    async with lifespan_client(create_app(settings)) as client:

        async def leads() -> bool:
            answer = AnalyzerHealth.model_validate_json((await client.get("/health")).content)
            return answer.role == "leader"

        await eventually(leads, within=15, what="the analyzer takes the lead", every=0.1)
        conn: asyncpg.Connection = await asyncpg.connect(database_url)
        try:
            seeded = await seed(conn, redis_url)
        finally:
            await conn.close()
        yield Served(client, *seeded)


async def seed(conn: asyncpg.Connection, redis_url: str) -> tuple[Incident, Incident, str]:
    """Something for every answer to hold: incidents, a trace, an edge, an anomaly, a baseline
    and recent spans for /latency. All of a service no other test has, and healthy or long
    past, so no other test's analyzer finds anything in them."""
    await apply_migrations(conn, component="analyzer", package="analyzer")
    name, trace_id = f"openapi-{secrets.token_hex(4)}", secrets.token_hex(16)
    incident, expired = slow_payment_incident(trace_id), slow_payment_incident(trace_id)
    await store(redis_url, incident)
    for one in (incident, expired):
        await incident_history.append(conn, changes(None, one, now=one.opened_at))
    now, past = datetime.now(UTC), datetime(2022, 5, 1, tzinfo=UTC)
    spans = [  # when, span, parent, kind, endpoint, peer, status, ms, error
        (past, "root", None, SERVER, "/checkout", None, 500, 80.0, None),
        (past, "call", "root", CLIENT, "/payment", f"{name}-payment", 500, 70.0, None),
        (past, "pay", "call", SERVER, "/payment", None, 500, 60.0, "ValueError: no"),
        (now - timedelta(minutes=1), "ok", None, SERVER, "/checkout", None, 200, 9.0, None),
    ]
    await conn.copy_records_to_table("telemetry", columns=COLUMNS, records=[
        span_row(timestamp=at + timedelta(milliseconds=n), service_name=name, endpoint=endpoint,
                 method="POST", status_code=status, latency_ms=ms, error_message=error,
                 trace_id=trace_id, span_id=span, parent_span_id=parent, kind=kind,
                 peer_service=peer, error_kind=None)
        for n, (at, span, parent, kind, endpoint, peer, status, ms, error) in enumerate(spans)
    ])  # fmt: skip
    await conn.execute(
        "INSERT INTO analyzer_dependencies VALUES ($1, 'payment', 20, 1, $2, $2)", name, now
    )
    key = SeriesKey.endpoint(name, "/checkout")
    found = Anomaly(type=AnomalyType.LATENCY, key=key, observed=90.0, baseline=9.0,
                    threshold=27.0, window_start=now - timedelta(seconds=5), window_end=now,
                    sample_count=40, score=0.9, sample_trace_ids=(trace_id,),
                    explanation=f"{key}: median latency 90 ms, baseline 9 ms")  # fmt: skip
    await anomalies.save_anomalies(conn, [found], detected_at=now)
    learned = Baseline(key=key, level_ms=9.0, spread_ms=1.0, rate_per_s=10.0, error_rate=0.0,
                       samples=400, windows=40, updated_at=now)  # fmt: skip
    await baselines.save_baselines(conn, {key: learned})
    series = SERIES.format(trace_id)  # a metric series, with a first (learning) point
    state, first = judge(None, series, now, 1.0, MetricConfig())
    assert state is not None
    await metric_states.save_states(conn, {series: state}, {series: (name, "both")})
    await metric_judgements.save_judgements(conn, [first])
    return incident, expired, trace_id


# What the test asks, in order: method, path template, its values, the status and the shape.
Call = tuple[str, str, dict[str, str], int, type[Any] | TypeAdapter[Any] | None]


def calls(served: Served) -> list[Call]:
    incident = {"incident_id": served.incident.id}
    series = {"series": quote(SERIES.format(served.trace_id), safe="")}
    return [
        ("GET", "/health", {}, 200, AnalyzerHealth),
        ("GET", "/metrics", {}, 200, None),
        ("GET", "/anomalies", {}, 200, Anomalies),
        ("GET", "/baselines", {}, 200, BASELINES),
        ("POST", "/analyze", {}, 200, TypeAdapter(AnalyzeResult)),
        ("GET", "/incidents", {}, 200, INCIDENTS),
        ("GET", "/incidents/{incident_id}", incident, 200, IncidentDetail),
        ("GET", "/incidents/{incident_id}", {"incident_id": served.expired.id}, 200,
         IncidentDetail),
        ("GET", "/incidents/{incident_id}", {"incident_id": "INC-none"}, 404, ErrorDetail),
        ("GET", "/incidents/{incident_id}", {"incident_id": "bad"}, 422, None),
        ("POST", "/incidents/{incident_id}/acknowledge", incident, 200, Incident),
        ("POST", "/incidents/{incident_id}/resolve", incident, 200, Incident),
        ("POST", "/incidents/{incident_id}/resolve", incident, 409, ErrorDetail),
        ("POST", "/incidents/{incident_id}/acknowledge", {"incident_id": "INC-none"}, 404,
         ErrorDetail),
        ("GET", "/dependencies", {}, 200, Dependencies),
        ("GET", "/traces/{trace_id}", {"trace_id": served.trace_id}, 200, Trace),
        ("GET", "/traces/{trace_id}", {"trace_id": "no-such-trace"}, 404, ErrorDetail),
        ("GET", "/latency", {}, 200, Latency),
        ("GET", "/latency?minutes=0", {}, 422, None),
        ("GET", "/metric-series", {}, 200, METRIC_SERIES),
        ("GET", "/metric-series/{series}/points", series, 200, METRIC_POINTS),
        ("GET", "/metric-series/{series}/points", {"series": "openapi:none"}, 404, ErrorDetail),
        ("GET", "/metric-series/{series}/points?limit=0", series, 422, None),
        ("POST", "/metric-series/{series}/new-normal", series, 202, NewNormalRequested),
        ("POST", "/metric-series/{series}/new-normal", {"series": "x:none"}, 404, ErrorDetail),
    ]  # fmt: skip


async def test_every_answer_matches_the_document_and_parses_as_its_model(
    served: Served,
) -> None:
    """Each status is documented and schemathesis finds the answer true to the document
    (media type, schema); its model reads it whole: parsed and written again, the same JSON."""
    raw = document()
    spec = schemathesis.openapi.from_dict(raw)
    seen: set[tuple[str, str]] = set()
    for method, template, values, status, shape in calls(served):
        response = await served.client.request(method, template.format(**values))
        assert response.status_code == status, (method, template, response.text)
        path = template.split("?")[0]
        assert str(status) in raw["paths"][path][method.lower()]["responses"], (path, status)
        spec[path][method].validate_response(response)
        seen.add((path, method.lower()))
        if shape is not None:
            adapter = shape if isinstance(shape, TypeAdapter) else TypeAdapter(shape)
            parsed = adapter.validate_json(response.content)
            assert adapter.dump_python(parsed, mode="json") == response.json(), template
    assert seen == set(ERRORS)  # every operation was asked


async def test_the_answers_hold_what_was_stored(served: Served) -> None:
    """The seeded trace is a tree blaming payment's failed span; the expired incident is its
    history alone."""
    trace = Trace.model_validate_json(
        (await served.client.get(f"/traces/{served.trace_id}")).content
    )
    assert [(o.span_id, o.blame) for o in trace.origins] == [("pay", "failed")]
    assert [child.span_id for child in trace.roots[0].children] == ["call"]
    answer = await served.client.get(f"/incidents/{served.expired.id}")
    detail = IncidentDetail.model_validate_json(answer.content)
    assert (detail.incident, detail.expired) == (None, True)
    assert [h.incident_id for h in detail.history] == [served.expired.id]
