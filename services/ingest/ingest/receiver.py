"""POST /v1/traces: decode, map, and hand every span of a request to the sink, or none."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any, NoReturn

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceResponse,
)

from aiops_api.common import error
from aiops_api.ingest import ExportTraceAnswer
from aiops_telemetry import TelemetrySink
from aiops_telemetry.otlp import (
    OtlpDecodeError,
    OtlpSpans,
    decode_otlp_proto,
    rows_from_otlp_json,
    rows_from_otlp_request,
)

from .body import read_body
from .settings import IngestSettings

logger = logging.getLogger("ingest")

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_PROTOBUF_TYPES = frozenset({PROTOBUF, "application/protobuf"})

# What the OpenAPI page shows (schemathesis fuzzes it): the JSON encoding's outline.
_REQUEST_BODY = {
    "required": True,
    "content": {
        JSON: {
            "schema": {
                "type": "object",
                "description": "OTLP/JSON ExportTraceServiceRequest",
                "properties": {
                    "resourceSpans": {"type": "array", "items": {"type": "object"}},
                },
            }
        },
        PROTOBUF: {"schema": {"type": "string", "format": "binary"}},
    },
}


class Receiver:
    """Counts what it took and refused, and logs refusals (at most once a second per kind)."""

    def __init__(self, sink: TelemetrySink, settings: IngestSettings) -> None:
        self.sink = sink
        self.max_body_bytes = settings.otlp_max_body_bytes
        self.retry_after = str(settings.otlp_retry_after)
        self.accepted_spans = 0
        self.rejected_spans = 0
        self.refused: Counter[int] = Counter()
        self._logged_at: dict[int, float] = {}
        self._unlogged: Counter[int] = Counter()

    def refuse(
        self, status: int, detail: str, headers: Mapping[str, str] | None = None
    ) -> NoReturn:
        self.note_refusal(status, detail)
        raise HTTPException(status, detail, headers)

    def note_refusal(self, status: int, detail: str) -> None:
        """Count a refusal and log it with its reason; within a second of the last line of
        that status, only count it (the next line says how many went unlogged)."""
        self.refused[status] += 1
        now = time.monotonic()
        if now - self._logged_at.get(status, -1.0) >= 1.0:
            more = self._unlogged.pop(status, 0)
            also = f" (and {more} more since the last line)" if more else ""
            logger.warning(
                "refused a request with %d: %s%s",
                status,
                detail,
                also,
                extra={"status": status, "reason": detail, "unlogged_before": more},
            )
            self._logged_at[status] = now
        else:
            self._unlogged[status] += 1

    async def export(self, request: Request) -> Response:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type not in _PROTOBUF_TYPES and media_type != JSON:
            self.refuse(415, f"Content-Type must be {PROTOBUF} or {JSON}, not {media_type!r}")
        try:
            body = await read_body(request, self.max_body_bytes)
        except HTTPException as exc:
            self.refuse(exc.status_code, str(exc.detail), exc.headers)
        spans = self._decode(body, protobuf=media_type != JSON)
        self._store(spans)
        return _answer(spans, protobuf=media_type != JSON)

    def _decode(self, body: bytes, *, protobuf: bool) -> OtlpSpans:
        if protobuf:
            try:
                return rows_from_otlp_request(decode_otlp_proto(body))
            except OtlpDecodeError as exc:
                self.refuse(400, str(exc))
        try:
            document: Any = json.loads(body)
        except (ValueError, RecursionError) as exc:
            self.refuse(400, f"not valid JSON ({str(exc)[:200]})")
        if not isinstance(document, dict):
            self.refuse(400, "the body must be a JSON object (an ExportTraceServiceRequest)")
        return rows_from_otlp_json(document)

    def _store(self, spans: OtlpSpans) -> None:
        """All of the request's rows into the sink, or none of them (then 503 or 413)."""
        rows = spans.rows
        room = self.sink.room()
        if len(rows) > room:
            bound = self.sink.stats().max_buffered
            if len(rows) > bound:
                self.refuse(
                    413,
                    f"{len(rows)} spans in one request, more than the {bound} this receiver "
                    "buffers (AIOPS_TELEMETRY_MAX_BUFFERED): send smaller batches",
                )
            self.refuse(
                503,
                f"the receiver's buffer is full ({room} of {bound} rows free): retry later",
                {"Retry-After": self.retry_after},
            )
        record = self.sink.record
        for row in rows:  # no await in between: the room checked above is still there
            record(row)
        self.accepted_spans += len(rows)
        self.rejected_spans += spans.rejected


def _answer(spans: OtlpSpans, *, protobuf: bool) -> Response:
    """ExportTraceServiceResponse in the request's encoding; partial_success when due."""
    answer = ExportTraceServiceResponse()
    if spans.rejected or spans.errors:
        answer.partial_success.CopyFrom(
            ExportTracePartialSuccess(
                rejected_spans=spans.rejected, error_message="; ".join(spans.errors)
            )
        )
    if protobuf:
        return Response(answer.SerializeToString(), media_type=PROTOBUF)
    return JSONResponse(MessageToDict(answer))


def traces_router(receiver: Receiver) -> APIRouter:
    router = APIRouter()

    @router.post(
        "/v1/traces",
        tags=["otlp"],
        openapi_extra={"requestBody": _REQUEST_BODY},
        responses={
            200: {
                "model": ExportTraceAnswer,
                "description": "ExportTraceServiceResponse, in the request's encoding",
                "content": {PROTOBUF: {"schema": {"type": "string", "format": "binary"}}},
            },
            **error(400, "malformed body"),
            **error(413, "body (decompressed) or span count over the limit"),
            **error(415, "unsupported Content-Type or Content-Encoding"),
            **error(503, "buffer full: retry after Retry-After seconds"),
        },
    )
    async def export(request: Request) -> Response:
        """OTLP/HTTP trace export (protobuf or JSON, optionally gzip); OTLP 1.x semantics."""
        return await receiver.export(request)

    return router
