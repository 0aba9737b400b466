"""POST /v1/traces over real HTTP: both encodings, gzip, partial success, every refusal."""

from __future__ import annotations

import gzip
import json
import uuid
import zlib
from typing import Any

import asyncpg
import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.support.processes import ServiceProcess
from tests.support.telemetry_rows import wait_for_rows

from . import otlp_requests as otlp
from .conftest import MAX_BODY

PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}


def service() -> str:
    return f"otlp-{uuid.uuid4().hex[:10]}"


def traced(n: int = 3, **fields: Any) -> tuple[str, ExportTraceServiceRequest]:
    """A request of `n` server spans of a fresh service, and that service's name."""
    name = service()
    trace = otlp.trace_id()
    spans = [otlp.span(trace, **fields) for _ in range(n)]
    return name, otlp.request({name: spans})


def post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{url}/v1/traces", content=body, headers=headers, timeout=30)


async def apost(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(f"{url}/v1/traces", content=body, headers=headers)


async def rows_of(db: asyncpg.Connection, name: str, count: int) -> list[asyncpg.Record]:
    return await wait_for_rows(db, "service_name = $1", name, count=count)


async def test_a_protobuf_export_lands_its_spans_and_gets_an_empty_protobuf_answer(
    ingest: ServiceProcess, db: asyncpg.Connection
) -> None:
    name, request = traced(3, attributes={"http.route": "/items/{id}", "tenant": "acme"})
    response = await apost(ingest.url, request.SerializeToString(), PROTOBUF)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-protobuf"
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert not answer.HasField("partial_success")
    rows = await rows_of(db, name, 3)
    assert [(r["endpoint"], r["kind"]) for r in rows] == [("/items/{id}", "server")] * 3
    assert [json.loads(r["attributes"]) for r in rows] == [{"tenant": "acme"}] * 3


async def test_a_json_export_lands_the_same_rows_and_gets_a_json_answer(
    ingest: ServiceProcess, db: asyncpg.Connection
) -> None:
    name, request = traced(2, kind=otlp.CLIENT, attributes={"peer.service": "pricing"})
    response = await apost(ingest.url, json.dumps(otlp.as_json(request)).encode(), JSON)
    assert (response.status_code, response.json()) == (200, {})
    rows = await rows_of(db, name, 2)
    assert [(r["kind"], r["peer_service"]) for r in rows] == [("client", "pricing")] * 2


@pytest.mark.parametrize("headers", [PROTOBUF, JSON], ids=["protobuf", "json"])
async def test_a_gzipped_export_is_accepted(
    ingest: ServiceProcess, db: asyncpg.Connection, headers: dict[str, str]
) -> None:
    name, request = traced(4)
    body = request.SerializeToString() if headers is PROTOBUF else json.dumps(otlp.as_json(request))
    raw = body.encode() if isinstance(body, str) else body
    response = await apost(ingest.url, gzip.compress(raw), {**headers, "Content-Encoding": "gzip"})
    assert response.status_code == 200, response.text
    assert len(await rows_of(db, name, 4)) == 4


async def test_a_partly_bad_request_keeps_the_good_spans_and_reports_partial_success(
    ingest: ServiceProcess, db: asyncpg.Connection
) -> None:
    name = service()
    good = otlp.span(otlp.trace_id())
    bad = [otlp.span(b"\x00" * 16), otlp.span(otlp.trace_id(), span=b"\x01")]
    request = otlp.request({name: [good, *bad]})
    response = await apost(ingest.url, request.SerializeToString(), PROTOBUF)
    assert response.status_code == 200
    partial = ExportTraceServiceResponse.FromString(response.content).partial_success
    assert partial.rejected_spans == 2
    assert "traceId" in partial.error_message
    assert "spanId" in partial.error_message
    as_json = await apost(ingest.url, json.dumps(otlp.as_json(request)).encode(), JSON)
    assert as_json.json()["partialSuccess"]["rejectedSpans"] in ("2", 2)
    assert len(await rows_of(db, name, 2)) == 2  # the good span, once per encoding


def detail(response: httpx.Response) -> str:
    found = response.json()["detail"]
    assert isinstance(found, str)
    assert found
    return found


@pytest.mark.parametrize(
    ("body", "headers", "says"),
    [
        (b"\xff\xff\xff", PROTOBUF, "not a protobuf"),
        (b"{not json", JSON, "not valid JSON"),
        (b"[1, 2]", JSON, "JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, JSON, "not valid JSON"),
        (b"not gzip", {**JSON, "Content-Encoding": "gzip"}, "not valid gzip"),
        (gzip.compress(b"{}")[:-6], {**JSON, "Content-Encoding": "gzip"}, "truncated"),
        (gzip.compress(b"{}") + b"junk", {**JSON, "Content-Encoding": "gzip"}, "after the end"),
    ],
    ids=["protobuf", "json", "json-array", "deep-json", "gzip", "gzip-cut", "gzip-tail"],
)
def test_a_malformed_body_is_400_with_a_message(
    ingest: ServiceProcess, body: bytes, headers: dict[str, str], says: str
) -> None:
    response = post(ingest.url, body, headers)
    assert response.status_code == 400
    assert says in detail(response)


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({"Content-Type": "text/plain"}, "Content-Type"),
        ({}, "Content-Type"),
        ({**JSON, "Content-Encoding": "br"}, "Content-Encoding"),
    ],
    ids=["text", "none", "brotli"],
)
def test_an_unsupported_type_or_encoding_is_415(
    ingest: ServiceProcess, headers: dict[str, str], says: str
) -> None:
    response = post(ingest.url, b"{}", headers)
    assert response.status_code == 415
    assert says in detail(response)


def test_a_body_over_the_limit_is_413_naming_the_setting(ingest: ServiceProcess) -> None:
    response = post(ingest.url, b" " * (MAX_BODY + 1), JSON)
    assert response.status_code == 413
    assert "AIOPS_OTLP_MAX_BODY_BYTES" in detail(response)


def test_a_gzip_bomb_is_413_after_decompressing_no_more_than_the_limit(
    ingest: ServiceProcess,
) -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"\x00" * (1024 * 1024)
    bomb = b"".join(compressor.compress(chunk) for _ in range(1024)) + compressor.flush()
    assert len(bomb) < 2 * 1024 * 1024  # 1 GiB of zeros
    response = post(ingest.url, bomb, {**PROTOBUF, "Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert "after decompression" in detail(response)
    assert httpx.get(f"{ingest.url}/health", timeout=5).status_code == 200


def test_health_reports_the_sink_and_what_was_taken_and_refused(ingest: ServiceProcess) -> None:
    post(ingest.url, b"nope", {"Content-Type": "text/plain"})
    health = httpx.get(f"{ingest.url}/health", timeout=5).json()
    assert (health["service"], health["status"]) == ("ingest", "ok")
    assert health["telemetry"]["state"] == "ok"
    assert health["refused_requests"]["415"] >= 1


def test_a_full_buffer_answers_503_with_retry_after_and_takes_none_of_the_request(
    stalled_ingest: ServiceProcess,
) -> None:
    url = stalled_ingest.url
    _, first = traced(60)
    assert post(url, first.SerializeToString(), PROTOBUF).status_code == 200
    _, second = traced(60)
    refused = post(url, second.SerializeToString(), PROTOBUF)
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "7"
    assert "retry later" in detail(refused)
    health = httpx.get(f"{url}/health", timeout=5).json()
    assert health["telemetry"]["buffered"] == 60  # none of the refused request's 60
    assert health["telemetry"]["dropped"] == 0
    assert health["spans"]["accepted"] == 60
    _, fits = traced(40)
    assert post(url, fits.SerializeToString(), PROTOBUF).status_code == 200


def test_a_request_larger_than_the_whole_buffer_is_413_not_a_retry(
    stalled_ingest: ServiceProcess,
) -> None:
    _, request = traced(101)
    response = post(stalled_ingest.url, request.SerializeToString(), PROTOBUF)
    assert response.status_code == 413
    assert "AIOPS_TELEMETRY_MAX_BUFFERED" in detail(response)
