"""OTLP requests for the tests: built as protobuf, and the same request in OTLP/JSON."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

SERVER, CLIENT, INTERNAL = Span.SPAN_KIND_SERVER, Span.SPAN_KIND_CLIENT, Span.SPAN_KIND_INTERNAL
PRODUCER, CONSUMER = Span.SPAN_KIND_PRODUCER, Span.SPAN_KIND_CONSUMER
ERROR = Status.STATUS_CODE_ERROR


def trace_id() -> bytes:
    return os.urandom(16)


def span_id() -> bytes:
    return os.urandom(8)


def any_value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, list):
        found = AnyValue()
        found.array_value.values.extend(any_value(v) for v in value)
        return found
    if isinstance(value, dict):
        found = AnyValue()
        found.kvlist_value.values.extend(key_values(value))
        return found
    return AnyValue(string_value=str(value))


def key_values(attributes: Mapping[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in attributes.items()]


def span(
    trace: bytes,
    name: str = "GET /items/{id}",
    *,
    kind: int = SERVER,
    span: bytes | None = None,
    parent: bytes = b"",
    attributes: Mapping[str, Any] | None = None,
    start_ns: int | None = None,
    duration_ms: float = 12.5,
    status: int = 0,
    status_message: str = "",
    exception: Mapping[str, str] | None = None,
) -> Span:
    start = start_ns if start_ns is not None else time.time_ns()
    built = Span(
        trace_id=trace,
        span_id=span or span_id(),
        parent_span_id=parent,
        name=name,
        kind=kind,  # type: ignore[arg-type]  # an int is what travels
        start_time_unix_nano=start,
        end_time_unix_nano=min(max(0, start + int(duration_ms * 1e6)), 2**64 - 1),
        attributes=key_values(attributes or {}),
        status=Status(code=status, message=status_message),  # type: ignore[arg-type]
    )
    if exception is not None:
        event = built.events.add()
        event.name = "exception"
        event.time_unix_nano = start
        event.attributes.extend(key_values(exception))
    return built


def request(
    spans_by_service: Mapping[str | None, Sequence[Span]],
) -> ExportTraceServiceRequest:
    """One ResourceSpans per service (None: a resource without service.name)."""
    built = ExportTraceServiceRequest()
    for service, spans in spans_by_service.items():
        resource = {} if service is None else {"service.name": service}
        built.resource_spans.append(
            ResourceSpans(
                scope_spans=[ScopeSpans(spans=list(spans))],
            )
        )
        built.resource_spans[-1].resource.attributes.extend(key_values(resource))
    return built


_IDS = ("traceId", "spanId", "parentSpanId")


def as_json(message: ExportTraceServiceRequest, *, enum_names: bool = False) -> dict[str, Any]:
    """The request in OTLP/JSON: the protobuf JSON mapping, but ids in hex as OTLP says
    (and enums as numbers, unless `enum_names`)."""
    document: dict[str, Any] = MessageToDict(message, use_integers_for_enums=not enum_names)
    for resource_spans in document.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for item in scope_spans.get("spans", []):
                for key in _IDS:
                    if key in item:
                        item[key] = base64.b64decode(item[key]).hex()
    return document
