"""The receiver's OpenAPI document: each answer and refusal documented, and real answers (the
app in-process, on the suite's PostgreSQL) true to it and to their models."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import schemathesis
from pydantic import BaseModel

from aiops_api.common import ErrorDetail
from aiops_api.ingest import ExportTraceAnswer, IngestHealth
from ingest.app import create_app
from ingest.settings import IngestSettings
from tests.support.asgi import lifespan_client

from . import otlp_requests as otlp

UNSTARTED = IngestSettings(database_url="postgresql://aiops@127.0.0.1:9/none")
LIMIT = 64 * 1024
JSON = {"Content-Type": "application/json"}
PROTOBUF = {"Content-Type": "application/x-protobuf"}


def document() -> dict[str, Any]:
    spec: dict[str, Any] = create_app(UNSTARTED).openapi()
    return spec


def test_every_operation_documents_its_answer_and_its_refusals() -> None:
    """/health is JSON; an export answers in the request's encoding, and every refusal is a
    `{"detail": ...}`."""
    spec = document()
    json.dumps(spec, allow_nan=False)
    health = spec["paths"]["/health"]["get"]["responses"]
    assert set(health) == {"200"}
    assert health["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/IngestHealth"
    }
    for path, answer in (
        ("/v1/traces", "ExportTraceAnswer"),
        ("/v1/metrics", "ExportMetricsAnswer"),
    ):
        export = spec["paths"][path]["post"]["responses"]
        assert set(export) == {"200", "400", "413", "415", "503"}
        assert export["200"]["content"] == {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{answer}"}},
            "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
        }
        for status in ("400", "413", "415", "503"):
            assert export[status]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorDetail"
            }
    assert set(spec["paths"]) == {"/health", "/v1/traces", "/v1/metrics"}


@pytest.fixture(scope="module")
async def receiver(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = IngestSettings(
        database_url=database_url, otlp_max_body_bytes=LIMIT, telemetry_flush_interval=0.1
    )
    async with lifespan_client(create_app(settings)) as client:
        yield client


async def test_real_answers_match_the_document_and_their_models(
    receiver: httpx.AsyncClient,
) -> None:
    """A partly bad export, refusals of each kind, and /health after them."""
    spec = schemathesis.openapi.from_dict(document())
    trace = otlp.trace_id()
    partly_bad = otlp.request(
        {f"otlp-{uuid.uuid4().hex[:10]}": [otlp.span(trace), otlp.span(b"\x00" * 16)]}
    )
    asked: list[tuple[str, str, bytes, dict[str, str], int, type[BaseModel] | None]] = [
        ("POST", "/v1/traces", json.dumps(otlp.as_json(partly_bad)).encode(), JSON, 200,
         ExportTraceAnswer),
        ("POST", "/v1/traces", partly_bad.SerializeToString(), PROTOBUF, 200, None),
        ("POST", "/v1/traces", b"{not json", JSON, 400, ErrorDetail),
        ("POST", "/v1/traces", b"{}", {"Content-Type": "text/plain"}, 415, ErrorDetail),
        ("POST", "/v1/traces", b" " * (LIMIT + 1), JSON, 413, ErrorDetail),
        ("GET", "/health", b"", {}, 200, IngestHealth),
    ]  # fmt: skip
    answers: dict[int, BaseModel] = {}
    for method, path, body, headers, status, model in asked:
        response = await receiver.request(method, path, content=body, headers=headers)
        assert response.status_code == status, (path, status, response.text)
        spec[path][method].validate_response(response)
        if model is not None:
            parsed = model.model_validate_json(response.content)
            assert parsed.model_dump(mode="json", exclude_unset=True) == response.json()
            answers.setdefault(status, parsed)
    export = answers[200]
    assert isinstance(export, ExportTraceAnswer)
    assert export.partial_success is not None
    assert export.partial_success.rejected_spans == 1  # "1" on the wire: an int64
    health = IngestHealth.model_validate_json((await receiver.get("/health")).content)
    assert health.spans.rejected == 2  # one per encoding
    assert health.refused_requests.keys() >= {"400", "413", "415"}
