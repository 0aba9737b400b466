"""POST /v1/traces: decode, map, and hand every span of a request to the sink, or none.

`Receiver` also reads, refuses and counts for the other OTLP routes (`metrics_receiver`):
one place for the body rules, and one count of refused requests by status.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any, NoReturn, TypeVar

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceResponse,
)
from starlette.exceptions import HTTPException as BodyRefused  # what read_body raises

from aiops_api.common import error
from aiops_api.ingest import ExportTraceAnswer
from aiops_telemetry import CopySink, TelemetrySink
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

Row = TypeVar("Row", bound=tuple[Any, ...])


def export_openapi(message: str, field: str, answer: type[Any], what: str) -> dict[str, Any]:
    """An OTLP export route's OpenAPI (schemathesis fuzzes it): the JSON encoding's outline
    of `message` (whose list is `field`), the answer `answer` in either encoding, and the
    refusals, `what` being what a request carries (spans, data points)."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    outline = {
        "type": "object",
        "description": f"OTLP/JSON {message}",
        "properties": {field: {"type": "array", "items": {"type": "object"}}},
    }
    response = message.replace("Request", "Response")
    return {
        "openapi_extra": {
            "requestBody": {
                "required": True,
                "content": {JSON: {"schema": outline}, PROTOBUF: binary},
            }
        },
        "responses": {
            200: {
                "model": answer,
                "description": f"{response}, in the request's encoding",
                "content": {PROTOBUF: binary},
            },
            **error(400, "malformed body"),
            **error(413, f"body (decompressed) or {what} count over the limit"),
            **error(415, "unsupported Content-Type or Content-Encoding"),
            **error(503, "buffer full: retry after Retry-After seconds"),
        },
    }


def encoded(answer: Message, *, protobuf: bool) -> Response:
    """An OTLP answer in the request's encoding."""
    if protobuf:
        return Response(answer.SerializeToString(), media_type=PROTOBUF)
    return JSONResponse(MessageToDict(answer))


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
        body, protobuf = await self.read(request)
        spans = self._decode(body, protobuf=protobuf)
        self.take(self.sink, spans.rows, "spans")
        self.accepted_spans += len(spans.rows)
        self.rejected_spans += spans.rejected
        return _answer(spans, protobuf=protobuf)

    async def read(self, request: Request) -> tuple[bytes, bool]:
        """An export's body (gunzipped) and whether it is protobuf; 415, 413 or 400 refused
        and counted. Every OTLP route reads its body here."""
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type not in _PROTOBUF_TYPES and media_type != JSON:
            self.refuse(415, f"Content-Type must be {PROTOBUF} or {JSON}, not {media_type!r}")
        try:
            body = await read_body(request, self.max_body_bytes)
        except BodyRefused as exc:  # starlette's, which fastapi's HTTPException only extends
            self.refuse(exc.status_code, str(exc.detail), exc.headers)
        return body, media_type != JSON

    def json_object(self, body: bytes, what: str) -> dict[str, Any]:
        """A JSON body that must be an object (`what` names it); 400 refused and counted."""
        try:
            document: Any = json.loads(body)
        except (ValueError, RecursionError) as exc:
            self.refuse(400, f"not valid JSON ({str(exc)[:200]})")
        if not isinstance(document, dict):
            self.refuse(400, f"the body must be a JSON object (an {what})")
        return document

    def _decode(self, body: bytes, *, protobuf: bool) -> OtlpSpans:
        if protobuf:
            try:
                return rows_from_otlp_request(decode_otlp_proto(body))
            except OtlpDecodeError as exc:
                self.refuse(400, str(exc))
        return rows_from_otlp_json(self.json_object(body, "ExportTraceServiceRequest"))

    def take(self, sink: CopySink[Row], rows: list[Row], what: str) -> None:
        """All of a request's rows into `sink`, or none of them (then 503 or 413)."""
        room = sink.room()
        if len(rows) > room:
            bound = sink.stats().max_buffered
            if len(rows) > bound:
                self.refuse(
                    413,
                    f"{len(rows)} {what} in one request, more than the {bound} this receiver "
                    "buffers (AIOPS_TELEMETRY_MAX_BUFFERED): send smaller batches",
                )
            self.refuse(
                503,
                f"the receiver's buffer is full ({room} of {bound} rows free): retry later",
                {"Retry-After": self.retry_after},
            )
        record = sink.record
        for row in rows:  # no await in between: the room checked above is still there
            record(row)


def _answer(spans: OtlpSpans, *, protobuf: bool) -> Response:
    """ExportTraceServiceResponse in the request's encoding; partial_success when due."""
    answer = ExportTraceServiceResponse()
    if spans.rejected or spans.errors:
        answer.partial_success.CopyFrom(
            ExportTracePartialSuccess(
                rejected_spans=spans.rejected, error_message="; ".join(spans.errors)
            )
        )
    return encoded(answer, protobuf=protobuf)


def traces_router(receiver: Receiver) -> APIRouter:
    router = APIRouter()

    @router.post(
        "/v1/traces",
        tags=["otlp"],
        **export_openapi("ExportTraceServiceRequest", "resourceSpans", ExportTraceAnswer, "span"),
    )
    async def export(request: Request) -> Response:
        """OTLP/HTTP trace export (protobuf or JSON, optionally gzip); OTLP 1.x semantics."""
        return await receiver.export(request)

    return router
