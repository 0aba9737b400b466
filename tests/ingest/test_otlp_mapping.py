"""The OTLP -> telemetry row mapping, rule by rule, in both encodings."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from aiops_telemetry import COLUMNS, SpanRow
from aiops_telemetry.otlp import OtlpSpans, rows_from_otlp_json, rows_from_otlp_proto

from . import otlp_requests as otlp
from .otlp_requests import CLIENT, CONSUMER, ERROR, INTERNAL, PRODUCER, SERVER

TRACE = bytes.fromhex("5b8efff798038103d269b633813fc60c")
ROOT = bytes.fromhex("eee19b7ec3c1b174")
START_NS = 1_700_000_000_123_456_789


def both(message: ExportTraceServiceRequest) -> OtlpSpans:
    """The request mapped from protobuf; the JSON encoding must give exactly the same."""
    from_proto = rows_from_otlp_proto(message.SerializeToString())
    assert rows_from_otlp_json(otlp.as_json(message)) == from_proto
    assert rows_from_otlp_json(otlp.as_json(message, enum_names=True)) == from_proto
    return from_proto


def one_row(service: str | None = "shop", **fields: Any) -> dict[str, Any]:
    result = both(otlp.request({service: [otlp.span(TRACE, start_ns=START_NS, **fields)]}))
    assert (len(result.rows), result.rejected, result.errors) == (1, 0, [])
    return named(result.rows[0])


def named(row: SpanRow) -> dict[str, Any]:
    return dict(zip(COLUMNS, row, strict=True))


def test_a_server_span_becomes_a_server_row_keyed_by_its_route() -> None:
    row = one_row(
        span=ROOT,
        attributes={
            "http.route": "/items/{id}",
            "http.request.method": "get",
            "http.response.status_code": 200,
            "url.path": "/items/42",
        },
        duration_ms=12.5,
    )
    assert row == {
        "timestamp": datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC),
        "service_name": "shop",
        "endpoint": "/items/{id}",
        "method": "GET",
        "status_code": 200,
        "latency_ms": 12.5,
        "error_message": None,
        "trace_id": TRACE.hex(),
        "span_id": ROOT.hex(),
        "parent_span_id": None,
        "kind": "server",
        "peer_service": None,
        "error_kind": None,
        "attributes": json.dumps({"url.path": "/items/42"}, separators=(",", ":")),
    }


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (SERVER, "server"),
        (CONSUMER, "server"),
        (CLIENT, "client"),
        (PRODUCER, "client"),
        (INTERNAL, "internal"),
        (0, "internal"),
        (42, "internal"),
    ],
)
def test_span_kinds_map_to_server_client_and_internal_rows(kind: int, expected: str) -> None:
    assert one_row(kind=kind)["kind"] == expected


def test_without_a_route_the_span_name_is_the_endpoint_and_older_names_are_read() -> None:
    row = one_row(name="GET", attributes={"http.method": "POST", "http.status_code": 503})
    assert (row["endpoint"], row["method"], row["status_code"]) == ("GET", "POST", 503)


def test_an_unknown_http_method_is_other_and_a_non_http_span_has_no_method() -> None:
    assert one_row(attributes={"http.request.method": "_OTHER"})["method"] == "OTHER"
    assert one_row(attributes={"rpc.system": "grpc"})["method"] == ""


def test_a_database_span_is_a_query_on_the_database_with_a_bounded_label() -> None:
    statement = "SELECT id, price FROM catalog_items WHERE id = $1"
    row = one_row(
        name="SELECT shop",
        kind=CLIENT,
        attributes={"db.system": "postgresql", "db.statement": statement},
    )
    assert (row["method"], row["endpoint"], row["peer_service"]) == (
        "SQL",
        "SELECT catalog_items",
        "postgresql",
    )
    assert json.loads(row["attributes"]) == {"db.statement": statement}  # the label drops it


def test_a_newer_database_span_and_one_without_a_statement_use_the_span_name() -> None:
    newer = one_row(
        kind=CLIENT,
        attributes={"db.system.name": "mysql", "db.query.text": "UPDATE stock SET n = 1"},
    )
    assert (newer["endpoint"], newer["peer_service"]) == ("UPDATE stock", "mysql")
    bare = one_row(name="redis GET", kind=CLIENT, attributes={"db.system": "redis"})
    assert (bare["endpoint"], bare["method"], bare["peer_service"]) == ("redis GET", "SQL", "redis")


def test_a_client_span_names_its_peer_by_peer_service_else_its_address_host() -> None:
    named_peer = {"peer.service": "payment", "server.address": "10.0.0.7"}
    assert one_row(kind=CLIENT, attributes=named_peer)["peer_service"] == "payment"
    assert one_row(kind=CLIENT, attributes={"server.address": "pricing"})["peer_service"] == (
        "pricing"
    )
    assert one_row(kind=CLIENT, attributes={"net.peer.name": "stock:8080"})["peer_service"] == (
        "stock"
    )
    assert one_row(kind=CLIENT)["peer_service"] is None
    assert one_row(kind=SERVER, attributes={"server.address": "me"})["peer_service"] is None


def test_a_client_span_whose_callee_span_is_in_the_request_is_named_after_the_callee() -> None:
    call = otlp.span(TRACE, "GET", kind=CLIENT, attributes={"server.address": "127.0.0.1"})
    served = otlp.span(TRACE, "GET /price", kind=SERVER, parent=call.span_id)
    result = both(otlp.request({"catalog": [call], "pricing": [served]}))
    rows = {row[1]: named(row) for row in result.rows}
    assert rows["catalog"]["peer_service"] == "pricing"
    assert rows["pricing"]["parent_span_id"] == call.span_id.hex()


def test_an_exception_event_fails_a_span_that_answered_200() -> None:
    row = one_row(
        attributes={"http.response.status_code": 200},
        exception={
            "exception.type": "KeyError",
            "exception.message": "'sku'",
            "exception.stacktrace": "Traceback (most recent call last):\n  ...",
        },
    )
    assert (row["status_code"], row["error_kind"]) == (200, "exception")
    assert row["error_message"] == "KeyError: 'sku'\nTraceback (most recent call last):\n  ..."


def test_status_error_fails_a_span_but_not_a_client_call_that_only_got_a_4xx() -> None:
    failed = one_row(status=ERROR, status_message="deadline exceeded")
    assert (failed["error_kind"], failed["error_message"]) == ("error_status", "deadline exceeded")
    not_found = one_row(kind=CLIENT, status=ERROR, attributes={"http.response.status_code": 404})
    assert not_found["error_kind"] is None
    server_404 = one_row(kind=SERVER, status=ERROR, attributes={"http.response.status_code": 404})
    assert server_404["error_kind"] == "error_status"


def test_a_resource_without_a_service_name_is_unknown_service() -> None:
    assert one_row(None)["service_name"] == "unknown_service"


def test_attributes_no_column_holds_are_kept_with_their_types() -> None:
    kept = {"user.tier": "gold", "retries": 3, "ratio": 0.5, "cached": True, "tags": ["a", "b"]}
    held = {"http.route": "/x", "http.request.method": "GET", "http.response.status_code": 200}
    row = one_row(attributes={**kept, **held, "nested": {"k": [1, 2]}, "raw": b"\x00\xff"})
    assert json.loads(row["attributes"]) == {**kept, "nested": {"k": [1, 2]}, "raw": "AP8="}
    assert one_row(attributes=held)["attributes"] is None


def test_huge_attributes_are_cut_with_a_marker_and_never_refuse_the_span() -> None:
    row = one_row(attributes={f"big.{i}": "x" * 20_000 for i in range(10)} | {"small": 1})
    kept = json.loads(row["attributes"])
    assert kept["small"] == 1
    assert kept["aiops.dropped_attributes"] >= 1
    assert all(len(v) < 4_200 for k, v in kept.items() if k.startswith("big."))
    assert len(row["attributes"]) <= 16_384


def test_non_finite_doubles_nul_and_lone_surrogates_are_stored_as_text() -> None:
    row = one_row(
        name="a\x00b",
        attributes={"nan": float("nan"), "inf": float("-inf"), "nul": "x\x00y"},
    )
    assert row["endpoint"] == "a\\0b"
    assert json.loads(row["attributes"]) == {"nan": "NaN", "inf": "-Infinity", "nul": "x\\0y"}
    document = otlp.as_json(otlp.request({"shop": [otlp.span(TRACE, start_ns=START_NS)]}))
    document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"] = "bad \ud800 surrogate"
    (row_tuple,) = rows_from_otlp_json(document).rows
    assert named(row_tuple)["endpoint"] == "bad ? surrogate"


def test_uppercase_hex_base64_ids_and_snake_case_keys_are_read() -> None:
    document = {
        "resource_spans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"string_value": "old"}}]
                },
                "scope_spans": [
                    {
                        "spans": [
                            {
                                "trace_id": TRACE.hex().upper(),
                                "span_id": "7uGbfsPBsXQ=",  # base64 of ROOT
                                "name": "op",
                                "kind": "SPAN_KIND_SERVER",
                                "start_time_unix_nano": str(START_NS),
                                "end_time_unix_nano": START_NS + 2_000_000,
                                "attributes": [
                                    {"key": "http.status_code", "value": {"int_value": "500"}}
                                ],
                            }
                        ]
                    }
                ],
            }
        ]
    }
    result = rows_from_otlp_json(document)
    assert (result.rejected, result.errors) == (0, [])
    row = named(result.rows[0])
    ids = (TRACE.hex(), ROOT.hex())
    assert (row["service_name"], row["trace_id"], row["span_id"]) == ("old", *ids)
    assert (row["status_code"], row["latency_ms"], row["kind"]) == (500, 2.0, "server")


def test_bad_spans_are_rejected_and_counted_with_their_reasons() -> None:
    good = otlp.span(TRACE, start_ns=START_NS)
    spans = [
        good,
        otlp.span(b"\x00" * 16, start_ns=START_NS),
        otlp.span(TRACE, span=b"\x01" * 4, start_ns=START_NS),
        otlp.span(TRACE, parent=b"\x01" * 3, start_ns=START_NS),
        otlp.span(TRACE, start_ns=START_NS, duration_ms=-1),
        otlp.span(TRACE, start_ns=0),
    ]
    result = both(otlp.request({"shop": spans}))
    assert [row[8] for row in result.rows] == [good.span_id.hex()]
    assert result.rejected == 5
    assert len(result.errors) == 5
    assert any("traceId" in reason for reason in result.errors)


def test_garbage_around_the_spans_is_reported_not_raised() -> None:
    documents: tuple[Any, ...] = (
        {"resourceSpans": 5},
        {"resourceSpans": [1, {"scopeSpans": "x"}]},
        {"resourceSpans": [{"scopeSpans": [{"spans": [None, "span"]}]}]},
        [],
    )
    for document in documents:
        result = rows_from_otlp_json(document)
        assert result.rows == []
        assert result.errors


def test_a_body_that_is_not_protobuf_is_reported_not_raised() -> None:
    result = rows_from_otlp_proto(b"\xff\xff\xff\xff")
    assert (result.rows, result.rejected) == ([], 0)
    assert "not a protobuf ExportTraceServiceRequest" in result.errors[0]


def test_errors_are_deduplicated_and_bounded() -> None:
    spans = [otlp.span(b"\x00" * 16, start_ns=START_NS) for _ in range(50)]
    spans += [otlp.span(TRACE, parent=bytes([i]) * 3, start_ns=START_NS) for i in range(3)]
    result = both(otlp.request({"shop": spans}))
    assert result.rejected == 53
    assert result.errors == [
        "bad or missing traceId (16 bytes, not all zero) (x50)",
        "bad parentSpanId (8 bytes) (x3)",
    ]
