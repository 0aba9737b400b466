"""OTLP traces as telemetry rows: the mapping the receiver (`services/ingest`) and replay share.

Pure and typed, no I/O. One `ExportTraceServiceRequest`, in protobuf or in
OTLP/JSON (camelCase, or the snake_case of older producers), gives the same
rows. Nothing here raises on its input: a span that cannot be stored is
left out, counted in `rejected`, and its reason kept in `errors`.

The mapping (docs/otlp.md has the table): resource `service.name` is the
service; SERVER/CONSUMER spans are server rows, CLIENT/PRODUCER client
rows, INTERNAL (and unspecified) internal rows; `http.route` or the span
name is the endpoint; database spans (`db.system`) are queries (method
SQL, endpoint a bounded statement label, peer the database system, e.g.
"postgresql" where our own services write "postgres"); an `exception`
event or status ERROR sets `error_kind`, so a failure that kept HTTP 200
still counts; attributes no column holds go to `attributes` (JSON).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

from . import _otlp_values as values
from ._otlp_map import RawSpan, SpanMapper, json_id, json_parent, proto_id, proto_parent
from ._span import SpanRow

__all__ = [
    "OtlpDecodeError",
    "OtlpSpans",
    "decode_otlp_proto",
    "rows_from_otlp_json",
    "rows_from_otlp_proto",
    "rows_from_otlp_request",
]

MAX_ERRORS = 10  # distinct reasons kept in `errors`


@dataclass(frozen=True)
class OtlpSpans:
    """The rows of one request, and what was left out of it and why."""

    rows: list[SpanRow]
    rejected: int  # spans not turned into rows
    errors: list[str]  # short reasons, each once, at most MAX_ERRORS


class OtlpDecodeError(ValueError):
    """The body is not an ExportTraceServiceRequest at all (the receiver's 400)."""


def decode_otlp_proto(body: bytes) -> ExportTraceServiceRequest:
    """Parse a protobuf `ExportTraceServiceRequest`; OtlpDecodeError when it is not one."""
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, RecursionError, ValueError) as exc:
        raise OtlpDecodeError(f"not a protobuf ExportTraceServiceRequest ({exc})") from None
    return request


def rows_from_otlp_proto(body: bytes) -> OtlpSpans:
    """The rows of a protobuf (`application/x-protobuf`) ExportTraceServiceRequest."""
    try:
        request = decode_otlp_proto(body)
    except OtlpDecodeError as exc:
        return OtlpSpans(rows=[], rejected=0, errors=[str(exc)])
    return rows_from_otlp_request(request)


def rows_from_otlp_request(request: ExportTraceServiceRequest) -> OtlpSpans:
    """The rows of a parsed protobuf request."""
    mapper = SpanMapper()
    for resource_spans in request.resource_spans:
        resource = values.proto_attributes(_at_most(resource_spans.resource.attributes))
        service = _service_name(resource.get("service.name"))
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                mapper.add(service, _proto_span(span))
    return _result(mapper)


def _proto_span(span: ProtoSpan) -> RawSpan:
    exception = None
    for event in span.events if len(span.events) else ():  # most have none: skip the iterator
        if event.name == "exception":
            exception = values.proto_attributes(_at_most(event.attributes))
            break
    return RawSpan(
        trace_id=proto_id(span.trace_id, 16),
        span_id=proto_id(span.span_id, 8),
        parent_span_id=proto_parent(span.parent_span_id),
        name=values.clean(span.name),
        kind=span.kind,
        start_ns=span.start_time_unix_nano,
        end_ns=span.end_time_unix_nano,
        attributes=values.proto_attributes(_at_most(span.attributes)),
        status_code=span.status.code,
        status_message=values.clean(span.status.message),
        exception=exception,
    )


def _at_most(attributes: Sequence[KeyValue]) -> Sequence[KeyValue]:
    # Slicing copies: only when there are too many.
    if len(attributes) <= values.MAX_ATTRIBUTES:
        return attributes
    return attributes[: values.MAX_ATTRIBUTES]


def rows_from_otlp_json(request: Mapping[str, Any]) -> OtlpSpans:
    """The rows of one OTLP/JSON ExportTraceServiceRequest (a parsed JSON object)."""
    mapper = SpanMapper()
    if not isinstance(request, Mapping):
        mapper.note("the request is not a JSON object")
        return _result(mapper)
    for resource_spans in _list(mapper, request, "resourceSpans", "resource_spans"):
        resource = values.field(resource_spans, "resource", "resource")
        attributes = resource.get("attributes") if isinstance(resource, dict) else None
        service = _service_name(values.json_attributes(attributes).get("service.name"))
        scopes = _list(mapper, resource_spans, "scopeSpans", "scope_spans")
        # OTLP before 0.15 (some recorded files): instrumentationLibrarySpans.
        scopes += _list(
            mapper, resource_spans, "instrumentationLibrarySpans", "instrumentation_library_spans"
        )
        for scope_spans in scopes:
            for span in _list(mapper, scope_spans, "spans", "spans", objects=False):
                if isinstance(span, dict):
                    mapper.add(service, _json_span(span))
                else:
                    mapper.reject("a span is not a JSON object")
    return _result(mapper)


def _list(
    mapper: SpanMapper, obj: Mapping[str, Any], camel: str, snake: str, *, objects: bool = True
) -> list[Any]:
    """`obj[camel or snake]` as a list (of objects unless `objects` is False); absent: empty."""
    found = values.field(obj, camel, snake)
    if found is None:
        return []
    if not isinstance(found, list):
        mapper.note(f"{camel} is not a list")
        return []
    if not objects:
        return found
    kept = [item for item in found if isinstance(item, dict)]
    if len(kept) < len(found):
        mapper.note(f"an entry of {camel} is not a JSON object")
    return kept


_KIND_NAMES = dict(ProtoSpan.SpanKind.items())
_STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}


def _json_span(span: Mapping[str, Any]) -> RawSpan:
    exception = None
    events = span.get("events")
    for event in events if isinstance(events, list) else ():
        if isinstance(event, dict) and event.get("name") == "exception":
            exception = values.json_attributes(event.get("attributes"))
            break
    status = span.get("status")
    status = status if isinstance(status, dict) else {}
    message = status.get("message")
    return RawSpan(
        trace_id=json_id(values.field(span, "traceId", "trace_id"), 16),
        span_id=json_id(values.field(span, "spanId", "span_id"), 8),
        parent_span_id=json_parent(values.field(span, "parentSpanId", "parent_span_id")),
        name=values.clean(name) if isinstance(name := span.get("name"), str) else "",
        kind=_enum(span.get("kind"), _KIND_NAMES, "SPAN_KIND_"),
        start_ns=values.integer(values.field(span, "startTimeUnixNano", "start_time_unix_nano")),
        end_ns=values.integer(values.field(span, "endTimeUnixNano", "end_time_unix_nano")),
        attributes=values.json_attributes(span.get("attributes")),
        status_code=_enum(status.get("code"), _STATUS_NAMES, "STATUS_CODE_"),
        status_message=values.clean(message) if isinstance(message, str) else "",
        exception=exception,
    )


def _enum(raw: Any, names: Mapping[str, int], prefix: str) -> int:
    """An enum as its number, or its name (with or without the prefix); 0 if neither."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        name = raw.upper()
        return names.get(name, names.get(prefix + name, 0))
    return 0


def _service_name(value: Any) -> str:
    # What the SDKs report when a resource names no service.
    if isinstance(value, str) and value:
        return values.bounded(value, 200)
    return "unknown_service"


def _result(mapper: SpanMapper) -> OtlpSpans:
    rows, rejected, reasons = mapper.finish()
    return OtlpSpans(rows=rows, rejected=rejected, errors=_errors(reasons))


def _errors(reasons: Counter[str]) -> list[str]:
    errors = [reason if n == 1 else f"{reason} (x{n})" for reason, n in reasons.most_common()]
    if len(errors) > MAX_ERRORS:
        errors = [*errors[: MAX_ERRORS - 1], f"… and {len(errors) - MAX_ERRORS + 1} more reasons"]
    return errors
