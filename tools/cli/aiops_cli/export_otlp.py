"""Telemetry rows as OTLP/JSON: the inverse of `aiops_telemetry.otlp.rows_from_otlp_json`.

Each column goes where that reader takes it from, so a row exported and read
back is the same row: the endpoint is the span name (and `http.route` on
server spans), the method `http.request.method` (or `db.system` for a query,
whose value is the peer the reader gives back), the status
`http.response.status_code`, the callee `peer.service`, the row's own
`attributes` become the span's again, and a failure is status ERROR, plus an
`exception` event when it was an exception (another kind, such as `timeout`,
travels as OpenTelemetry's `error.type`). Times are integer nanoseconds
(exact to the stored microsecond); latency is rounded to the nanosecond.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

SCOPE = {"name": "aiops-export", "version": "1"}
# OTLP's SpanKind and StatusCode numbers (OTLP/JSON writes enums as integers).
KINDS = {"internal": 1, "server": 2, "client": 3}
STATUS_ERROR = 2
DB_SYSTEM = "postgresql"  # a query with no recorded peer: the shop's only database
EXCEPTION = "exception"  # the error_kind of an exception, as both our services and OTLP say
ERROR_STATUS = "error_status"  # the error_kind OTLP's reader gives a bare status ERROR
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def export_request(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One ExportTraceServiceRequest of `rows`: a resourceSpans entry per service."""
    by_service: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_service.setdefault(row["service_name"], []).append(otlp_span(row))
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [_kv("service.name", service)]},
                "scopeSpans": [{"scope": SCOPE, "spans": spans}],
            }
            for service, spans in by_service.items()
        ]
    }


def otlp_span(row: Mapping[str, Any]) -> dict[str, Any]:
    """One telemetry row (COLUMNS by name; `attributes` as JSON text) as an OTLP/JSON span."""
    start = unix_nanos(row["timestamp"])
    end = start + round(row["latency_ms"] * 1_000_000)
    attributes: dict[str, Any] = json.loads(row["attributes"]) if row["attributes"] else {}
    attributes.update(_column_attributes(row))
    span: dict[str, Any] = {
        "traceId": row["trace_id"],
        "spanId": row["span_id"],
        "name": row["endpoint"],
        "kind": KINDS[row["kind"]],
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end),
        "attributes": [_kv(key, value) for key, value in attributes.items()],
    }
    if row["parent_span_id"]:
        span["parentSpanId"] = row["parent_span_id"]
    if row["error_kind"] is not None or row["error_message"] is not None:
        span["status"] = {"code": STATUS_ERROR, "message": row["error_message"] or ""}
        if row["error_kind"] == EXCEPTION:
            span["events"] = [_exception_event(row["error_message"] or "", end)]
        elif row["error_kind"] not in (None, ERROR_STATUS):
            # timeout, connection_refused, ...: OpenTelemetry's name for a failure's class.
            span["attributes"].append(_kv("error.type", row["error_kind"]))
    return span


def _column_attributes(row: Mapping[str, Any]) -> dict[str, Any]:
    """The columns that OTLP carries as semantic-convention attributes."""
    found: dict[str, Any] = {}
    if row["method"] == "SQL":
        found["db.system"] = row["peer_service"] or DB_SYSTEM
    else:
        if row["method"]:  # internal spans have none
            found["http.request.method"] = row["method"]
        if row["peer_service"] is not None:
            found["peer.service"] = row["peer_service"]
    if row["kind"] == "server":
        found["http.route"] = row["endpoint"]
    if row["status_code"] is not None:
        found["http.response.status_code"] = row["status_code"]
    return found


def _exception_event(message: str, at: int) -> dict[str, Any]:
    """An `exception` event whose `type: message` is `message` again when read back (our
    services store exceptions as `Type: message`, OTLP's reader joins them so)."""
    kind, separator, text = message.partition(": ")
    if not (separator and kind):
        kind, text = "", message
    attributes = [_kv("exception.message", text)]
    if kind:
        attributes.insert(0, _kv("exception.type", kind))
    return {"timeUnixNano": str(at), "name": "exception", "attributes": attributes}


def unix_nanos(moment: datetime) -> int:
    """`moment` in integer nanoseconds since the epoch: exact to its microsecond."""
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


def _kv(key: str, value: Any) -> dict[str, Any]:
    return {"key": key, "value": any_value(value)}


def any_value(value: Any) -> dict[str, Any]:
    """A JSON value as an OTLP AnyValue (int64 as a decimal string, as OTLP/JSON wants)."""
    if isinstance(value, bool):  # before int: True is an int too
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [any_value(item) for item in value]}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": [_kv(k, v) for k, v in value.items()]}}
    return {}  # null: an empty AnyValue
