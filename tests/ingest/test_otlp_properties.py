"""Property tests: any input maps to rows or counted refusals, never an exception, and the
two encodings of one request always give the same rows."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from aiops_telemetry import COLUMNS
from aiops_telemetry.otlp import OtlpSpans, rows_from_otlp_json, rows_from_otlp_proto

from . import otlp_requests as otlp

KEYS = [
    "resourceSpans", "resource_spans", "scopeSpans", "scope_spans", "spans", "resource",
    "attributes", "key", "value", "traceId", "spanId", "parentSpanId", "trace_id", "name",
    "kind", "startTimeUnixNano", "endTimeUnixNano", "status", "code", "message", "events",
    "stringValue", "intValue", "doubleValue", "boolValue", "arrayValue", "kvlistValue",
    "values", "service.name", "http.route", "db.system", "db.statement", "exception",
]  # fmt: skip
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=40)
    | st.sampled_from(["5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", "NaN", "2"])
)
json_ish = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=40,
)


def well_formed(result: OtlpSpans) -> None:
    assert result.rejected >= 0
    assert len(result.errors) <= 10
    for row in result.rows:
        assert len(row) == len(COLUMNS)
        assert type(row) is tuple
        assert row[10] in ("server", "client", "internal")
        assert len(row[7]) == 32
        assert len(row[8]) == 16
        assert row[5] >= 0


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(json_ish)
def test_any_json_value_maps_to_rows_or_counted_refusals(document: Any) -> None:
    well_formed(rows_from_otlp_json(document))


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_any_bytes_map_to_rows_or_a_reason(body: bytes) -> None:
    result = rows_from_otlp_proto(body)
    well_formed(result)
    assert result.rows or result.errors or not body or result.rejected == 0


ids = st.binary(min_size=16, max_size=16) | st.sampled_from([b"", b"\x00" * 16, b"\x01" * 5])
span_ids = st.binary(min_size=8, max_size=8) | st.sampled_from([b"", b"\x00" * 8, b"\x02" * 3])
attribute_values = st.recursive(
    st.text(max_size=20)
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats()
    | st.booleans()
    | st.binary(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)
attributes = st.dictionaries(
    st.sampled_from(["http.route", "http.response.status_code", "db.system", "peer.service"])
    | st.text(max_size=10),
    attribute_values,
    max_size=5,
)


@st.composite
def requests(draw: st.DrawFn) -> ExportTraceServiceRequest:
    by_service: dict[str | None, list[Any]] = {}
    for _ in range(draw(st.integers(1, 3))):
        service = draw(st.none() | st.text(max_size=10))
        by_service[service] = [
            otlp.span(
                draw(ids),
                draw(st.text(max_size=20)),
                kind=draw(st.integers(0, 6)),
                span=draw(span_ids),
                parent=draw(span_ids),
                attributes=draw(attributes),
                start_ns=draw(st.integers(0, 2**63 - 1)),
                duration_ms=draw(st.floats(-10, 1e6)),
                status=draw(st.integers(0, 2)),
                status_message=draw(st.text(max_size=10)),
                exception=draw(st.none() | st.dictionaries(st.text(max_size=20), st.text())),
            )
            for _ in range(draw(st.integers(0, 4)))
        ]
    return otlp.request(by_service)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_protobuf_and_json_encodings_of_a_request_give_the_same_rows(
    request: ExportTraceServiceRequest,
) -> None:
    from_proto = rows_from_otlp_proto(request.SerializeToString())
    well_formed(from_proto)
    assert rows_from_otlp_json(otlp.as_json(request)) == from_proto
    spans = sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
    assert len(from_proto.rows) + from_proto.rejected == spans
