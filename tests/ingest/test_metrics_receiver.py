"""POST /v1/metrics over real HTTP to a real receiver process: both encodings, gzip, partial
success, refusals counted in /health, and running totals read back as rates."""

from __future__ import annotations

import gzip
import json
import math
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

from analyzer.store.metric_points import points_between
from tests.support.polling import eventually
from tests.support.processes import ServiceProcess

from . import metric_requests as m

PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}


def service() -> str:
    return f"metrics-{uuid.uuid4().hex[:10]}"


async def post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(f"{url}/v1/metrics", content=body, headers=headers)


def encoded(request: ExportMetricsServiceRequest, headers: dict[str, str]) -> bytes:
    if headers is PROTOBUF:
        return request.SerializeToString()
    return json.dumps(m.as_json(request)).encode()


async def rows_of(db: asyncpg.Connection, name: str, count: int) -> list[asyncpg.Record]:
    """The metric_points rows of service `name`, once `count` have landed."""

    async def landed() -> list[asyncpg.Record] | None:
        rows: list[asyncpg.Record] = await db.fetch(
            'SELECT * FROM metric_points WHERE service = $1 ORDER BY series, "time"', name
        )
        return rows if len(rows) >= count else None

    return await eventually(landed, within=15, what=f"{count} metric rows of {name}", every=0.1)


async def health(url: str) -> dict[str, object]:
    async with httpx.AsyncClient(timeout=5) as client:
        found: dict[str, object] = (await client.get(f"{url}/health")).json()
        return found


@pytest.mark.parametrize("headers", [PROTOBUF, JSON], ids=["protobuf", "json"])
async def test_an_export_lands_gauges_and_histograms_and_gets_an_empty_answer(
    ingest: ServiceProcess, db: asyncpg.Connection, headers: dict[str, str]
) -> None:
    name = service()
    request = m.request(
        {
            name: [
                m.gauge("queue.depth", m.number(12.5, attributes={"queue": "orders"})),
                m.histogram(
                    "http.server.request.duration",
                    m.buckets([100, 200], [2, 2, 0], total=400, attributes={"http.route": "/x"}),
                ),
            ]
        }
    )
    response = await post(ingest.url, encoded(request, headers), headers)
    assert response.status_code == 200, response.text
    if headers is PROTOBUF:
        assert response.headers["content-type"] == "application/x-protobuf"
        assert not ExportMetricsServiceResponse.FromString(response.content).HasField(
            "partial_success"
        )
    else:
        assert response.json() == {}
    rows = await rows_of(db, name, 5)
    assert {r["series"]: (r["kind"], r["value"]) for r in rows} == {
        f"{name}:http.server.request.duration.count{{http.route=/x}}": ("count", 4.0),
        f"{name}:http.server.request.duration.mean{{http.route=/x}}": ("mean", 100.0),
        f"{name}:http.server.request.duration.p50{{http.route=/x}}": ("p50", 100.0),
        f"{name}:http.server.request.duration.p95{{http.route=/x}}": ("p95", 190.0),
        f"{name}:queue.depth{{queue=orders}}": ("gauge", 12.5),
    }


async def test_a_gzipped_export_is_accepted(ingest: ServiceProcess, db: asyncpg.Connection) -> None:
    name = service()
    request = m.request({name: [m.gauge("g", m.number(1.0), m.number(2.0, attributes={"a": 1}))]})
    body = gzip.compress(request.SerializeToString())
    response = await post(ingest.url, body, {**PROTOBUF, "Content-Encoding": "gzip"})
    assert response.status_code == 200, response.text
    assert len(await rows_of(db, name, 2)) == 2


async def test_a_nan_gauge_is_refused_counted_and_reported_the_rest_kept(
    ingest: ServiceProcess, db: asyncpg.Connection
) -> None:
    name = service()
    before = await health(ingest.url)
    request = m.request(
        {name: [m.gauge("temperature", m.number(math.nan), m.number(21.5, attributes={"r": 1}))]}
    )
    response = await post(ingest.url, request.SerializeToString(), PROTOBUF)
    assert response.status_code == 200
    partial = ExportMetricsServiceResponse.FromString(response.content).partial_success
    assert partial.rejected_data_points == 1
    assert "non-finite" in partial.error_message
    as_json = await post(ingest.url, encoded(request, JSON), JSON)
    assert as_json.json()["partialSuccess"]["rejectedDataPoints"] in ("1", 1)
    rows = await rows_of(db, name, 2)  # the finite point, once per encoding
    assert [(r["series"], r["value"]) for r in rows] == [(f"{name}:temperature{{r=1}}", 21.5)] * 2

    after = await health(ingest.url)
    metrics, earlier = after["metrics"], before["metrics"]
    assert isinstance(metrics, dict)
    assert isinstance(earlier, dict)
    assert metrics["rejected"] - earlier["rejected"] == 2
    assert metrics["rejected_by_reason"]["non_finite"] >= 2
    assert metrics["accepted"] - earlier["accepted"] >= 2
    assert metrics["sink"]["state"] == "ok"
    assert after["status"] == "ok"


async def test_a_cumulative_counter_is_read_back_as_a_rate(
    ingest: ServiceProcess, db: asyncpg.Connection
) -> None:
    """Two exports, as a replica each might take: the rate comes from their difference."""
    name = service()
    start = datetime(2031, 3, 1, tzinfo=UTC) + timedelta(minutes=uuid.uuid4().int % 100_000)
    ns = int(start.timestamp()) * m.SECOND
    for at, value in ((ns + 10 * m.SECOND, 50), (ns + 40 * m.SECOND, 200)):
        request = m.request({name: [m.total("orders", m.number(value, at=at, start=ns))]})
        response = await post(ingest.url, request.SerializeToString(), PROTOBUF)
        assert response.status_code == 200
    await rows_of(db, name, 2)
    points = [p for p in await points_between(db, start, start + timedelta(minutes=1))
              if p.service == name]  # fmt: skip
    assert [(p.series, p.kind, p.time - start, p.value) for p in points] == [
        (f"{name}:orders.rate", "rate", timedelta(seconds=10), 5.0),  # 50 since its start
        (f"{name}:orders.rate", "rate", timedelta(seconds=40), 5.0),  # 150 in 30 s
    ]


@pytest.mark.parametrize(
    ("body", "headers", "status", "says"),
    [
        (b"\xff\xff\xff", PROTOBUF, 400, "ExportMetricsServiceRequest"),
        (b"{not json", JSON, 400, "not valid JSON"),
        (b"[]", JSON, 400, "JSON object"),
        (b'{"resourceMetrics": 3}', JSON, 400, "ExportMetricsServiceRequest"),
        (b"{}", {"Content-Type": "text/plain"}, 415, "Content-Type"),
        (b"nope", {**JSON, "Content-Encoding": "gzip"}, 400, "gzip"),
    ],
    ids=["protobuf", "json", "json-array", "json-shape", "type", "gzip"],
)
async def test_a_bad_request_is_refused_with_a_reason_and_counted(
    ingest: ServiceProcess, body: bytes, headers: dict[str, str], status: int, says: str
) -> None:
    before = await health(ingest.url)
    response = await post(ingest.url, body, headers)
    assert response.status_code == status
    assert says in response.json()["detail"]
    refused, earlier = (await health(ingest.url))["refused_requests"], before["refused_requests"]
    assert isinstance(refused, dict)
    assert isinstance(earlier, dict)
    assert refused[str(status)] > earlier.get(str(status), 0)


async def test_a_request_larger_than_the_whole_buffer_is_413(
    stalled_ingest: ServiceProcess,
) -> None:
    points = [m.number(float(i), attributes={"i": i}) for i in range(101)]
    request = m.request({service(): [m.gauge("g", *points)]})
    response = await post(stalled_ingest.url, request.SerializeToString(), PROTOBUF)
    assert response.status_code == 413
    assert "AIOPS_TELEMETRY_MAX_BUFFERED" in response.json()["detail"]
