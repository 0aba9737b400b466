"""One OTLP span, read from protobuf or JSON, as one telemetry row (see `otlp`)."""

from __future__ import annotations

import base64
import binascii
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from . import _otlp_values as values
from ._db import statement_label
from ._span import CLIENT, INTERNAL, SERVER, SpanRow, error_text

# SpanKind: UNSPECIFIED 0, INTERNAL 1, SERVER 2, CLIENT 3, PRODUCER 4, CONSUMER 5.
_KINDS = {2: SERVER, 5: SERVER, 3: CLIENT, 4: CLIENT}
_STATUS_ERROR = 2
_HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
BAD_ID = "!"  # a parent span id that is there but is no id
NO_METHOD = ""  # not an HTTP call nor a query: its failures are stated, never inferred
MAX_LABEL = 200  # characters of an endpoint or peer label
MAX_STATEMENT = 2_000  # characters of a statement read for its label
_MAX_NANOS = 2**63 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The failure kinds our own client spans record (`http_client.failure_kind`), which
# `aiops export` writes as `error.type`.
FAILURE_KINDS = frozenset(
    {
        "timeout",
        "connect_timeout",
        "connection_refused",
        "connection_reset",
        "connect_error",
        "dns_error",
        "cancelled",
        "error",
    }
)
# Attributes whose whole value a column holds: not repeated in `attributes`.
HELD = frozenset(
    {
        "http.route",
        "http.request.method",
        "http.method",
        "http.response.status_code",
        "http.status_code",
        "peer.service",
        "db.system",
        "db.system.name",
    }
)


@dataclass(slots=True)  # not frozen: a frozen __init__ costs a setattr call per field
class RawSpan:
    """A span's fields as either encoding gives them, not yet checked."""

    trace_id: str | None  # lowercase hex; None when missing or malformed
    span_id: str | None
    parent_span_id: str | None  # None for a root span; BAD_ID when malformed
    name: str
    kind: int
    start_ns: int | None
    end_ns: int | None
    attributes: dict[str, Any]
    status_code: int
    status_message: str
    exception: dict[str, Any] | None  # the first `exception` event's attributes


class SpanMapper:
    """Map the spans of one request; client peers may come from a callee's span in it."""

    def __init__(self) -> None:
        self._rows: list[list[Any]] = []
        self._hosts: list[str | None] = []  # server.address fallback of each row
        self._servers: dict[str, str] = {}  # parent span id of a server span -> its service
        self._rejected = 0
        self._reasons: Counter[str] = Counter()

    def reject(self, reason: str) -> None:
        self._rejected += 1
        self._reasons[reason] += 1

    def note(self, reason: str) -> None:
        """Something wrong around the spans (no span to count, but the sender should know)."""
        self._reasons[reason] += 1

    def add(self, service: str, span: RawSpan) -> None:
        trace_id, span_id, parent = span.trace_id, span.span_id, span.parent_span_id
        if trace_id is None:
            return self.reject("bad or missing traceId (16 bytes, not all zero)")
        if span_id is None:
            return self.reject("bad or missing spanId (8 bytes, not all zero)")
        if parent == BAD_ID:
            return self.reject("bad parentSpanId (8 bytes)")
        start, end = span.start_ns, span.end_ns
        if start is None or not 0 < start <= _MAX_NANOS:
            return self.reject("bad or missing startTimeUnixNano")
        if end is None or not start <= end <= _MAX_NANOS:
            return self.reject("endTimeUnixNano missing or before startTimeUnixNano")

        attributes = span.attributes
        kind = _KINDS.get(span.kind, INTERNAL)
        status_code = _http_status(attributes)
        database = _text(attributes.get("db.system")) or _text(attributes.get("db.system.name"))
        peer: str | None = None
        host: str | None = None
        if database:
            method = "SQL"
            statement = _text(attributes.get("db.statement")) or _text(
                attributes.get("db.query.text")
            )
            endpoint = statement_label(statement[:MAX_STATEMENT]) if statement else span.name
            peer = database if kind == CLIENT else None
        else:
            method = _http_method(attributes)
            endpoint = _text(attributes.get("http.route")) or span.name
            if kind == CLIENT:
                peer = _text(attributes.get("peer.service")) or None
                host = _host(attributes.get("server.address") or attributes.get("net.peer.name"))
        error_kind, error_message = _failure(span, kind, status_code)
        own = {k: v for k, v in attributes.items() if k not in HELD}
        if error_kind is not None and own.get("error.type") == error_kind:
            del own["error.type"]  # the column holds it whole
        if kind == SERVER and parent is not None:
            self._servers[parent] = service
        self._hosts.append(host)
        self._rows.append(
            [
                _EPOCH + timedelta(microseconds=start // 1000),
                service,
                _label(endpoint or "unnamed"),
                method,
                status_code,
                (end - start) / 1e6,
                error_message,
                trace_id,
                span_id,
                parent,
                kind,
                _label(peer) if peer else None,
                error_kind,
                values.attributes_json(own),
            ]
        )
        return None

    def finish(self) -> tuple[list[SpanRow], int, Counter[str]]:
        """The rows (in COLUMNS order), the number rejected, and the reasons."""
        rows: list[SpanRow] = []
        for row, host in zip(self._rows, self._hosts, strict=True):
            if row[10] == CLIENT and row[11] is None:
                # The callee's own span, when this request holds it, names the callee
                # better than an address does; the address is the fallback.
                callee = self._servers.get(row[8]) or host
                row[11] = _label(callee) if callee else None
            rows.append(tuple(row))  # COLUMNS order, like span_row
        return rows, self._rejected, self._reasons


_ZEROS = {16: bytes(16), 8: bytes(8)}


def proto_id(raw: bytes, size: int) -> str | None:
    """A protobuf trace or span id as lowercase hex; None unless `size` bytes, not all zero."""
    return raw.hex() if len(raw) == size and raw != _ZEROS[size] else None


def proto_parent(raw: bytes) -> str | None:
    if not raw or raw == _ZEROS[8]:
        return None
    return raw.hex() if len(raw) == 8 else BAD_ID


def json_id(raw: object, size: int) -> str | None:
    """An OTLP/JSON id as lowercase hex; None unless `size` bytes, not all zero."""
    data = _json_bytes(raw, size)
    return data.hex() if data is not None and data != _ZEROS[size] else None


def json_parent(raw: object) -> str | None:
    if raw is None or raw == "":
        return None
    data = _json_bytes(raw, 8)
    if data is None:
        return BAD_ID
    return None if data == _ZEROS[8] else data.hex()  # all zero: a root, as some SDKs write


def _json_bytes(raw: object, size: int) -> bytes | None:
    """The id's bytes if it has `size` of them.

    OTLP/JSON writes ids in hex; some older producers wrote base64 (the
    generic protobuf JSON mapping): the lengths tell them apart.
    """
    if not isinstance(raw, str):
        return None
    if len(raw) == 2 * size:
        try:
            data = bytes.fromhex(raw)
        except ValueError:
            return None
    elif len(raw) == (size + 2) // 3 * 4:
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return None
    else:
        return None
    return data if len(data) == size else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _label(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _http_status(attributes: dict[str, Any]) -> int | None:
    code = attributes.get("http.response.status_code")
    if code is None:
        code = attributes.get("http.status_code")
    if isinstance(code, str) and code.isdigit() and len(code) == 3:
        code = int(code)
    if isinstance(code, int) and not isinstance(code, bool) and 100 <= code <= 599:
        return code
    return None


def _http_method(attributes: dict[str, Any]) -> str:
    method = attributes.get("http.request.method") or attributes.get("http.method")
    if not isinstance(method, str):
        return NO_METHOD
    method = method.upper()
    return method if method in _HTTP_METHODS else "OTHER"  # as our middleware labels them


def _host(address: Any) -> str | None:
    if not isinstance(address, str) or not address:
        return None
    host, colon, port = address.rpartition(":")
    # "payment:8000" -> "payment"; an IPv6 address keeps its colons.
    return host if colon and port.isdigit() and ":" not in host else address


def _failure(span: RawSpan, kind: str, status_code: int | None) -> tuple[str | None, str | None]:
    """(error_kind, error_message): an exception event, else status ERROR, else none.

    The HTTP conventions set ERROR on a client span for any 4xx answer; our
    own client spans do not count a 4xx as the call failing, so neither does
    a client span's ERROR that only repeats its 4xx.
    """
    if span.exception is not None:
        what = _text(span.exception.get("exception.type")) or "exception"
        text = f"{what}: {_text(span.exception.get('exception.message'))}"
        if stack := _text(span.exception.get("exception.stacktrace")):
            text = f"{text}\n{stack}"
        return "exception", error_text(text)
    if span.status_code != _STATUS_ERROR:
        return None, None
    if kind == CLIENT and status_code is not None and 400 <= status_code < 500:
        return None, None
    named = _error_kind(_text(span.attributes.get("error.type")))
    return named or "error_status", error_text(span.status_message or "span status ERROR")


def _error_kind(error_type: str) -> str | None:
    """Our failure kind for OpenTelemetry's `error.type`: ours as written (`aiops export`),
    any other timeout as `timeout` (the analyzer's timeout detector counts it)."""
    if error_type in FAILURE_KINDS:
        return error_type
    return "timeout" if "timeout" in error_type.lower() else None
