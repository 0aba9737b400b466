"""Trace context: the `X-Trace-Id` header, W3C `traceparent`, and the current span."""

from __future__ import annotations

import hashlib
import math
import random
import re
import traceback
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field

from ._span import error_text

TRACE_ID_HEADER = "x-trace-id"
TRACEPARENT_HEADER = "traceparent"

# A trace id a caller may choose: short, and only characters that cannot
# smuggle anything into a header, a log line or a SQL literal.
_TRACE_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_TRACEPARENT_RE = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_HEX32_RE = re.compile(r"[0-9a-f]{32}")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


# What a handler may attach to its server span (`annotate`).
AttributeValue = str | int | float | bool
MAX_ANNOTATIONS = 64  # keys one span takes from its handler; more are ignored
_MAX_KEY, _MAX_TEXT = 256, 1_024  # characters kept of a key, of a string value


@dataclass(slots=True)
class SpanOutcome:
    """What a request's handler adds to its server span while it is served: a failure
    (`record_exception`) and attributes (`annotate`).

    Mutable and shared, not a ContextVar of its own: a handler may run in a
    copied context (sync code in the thread pool), where setting a variable
    would never reach the middleware that writes the row.
    """

    error_kind: str | None = None
    error_message: str | None = None
    attributes: dict[str, AttributeValue] | None = None


@dataclass(frozen=True, slots=True)
class SpanContext:
    """The span a piece of work runs in; outgoing calls become its children."""

    trace_id: str
    span_id: str
    # False inside a request that is not recorded (`/health`): the queries and
    # calls it makes leave no rows either, or a probe every few seconds would.
    recorded: bool = True
    # The server span's own outcome, for `record_exception`; None outside a served request.
    outcome: SpanOutcome | None = field(default=None, compare=False, repr=False)


current_span: ContextVar[SpanContext | None] = ContextVar("aiops_current_span", default=None)


def current_trace_id() -> str | None:
    """The trace id of the request being served, for response bodies and logs."""
    span = current_span.get()
    return span.trace_id if span else None


def record_exception(exc: BaseException) -> bool:
    """Record `exc` on the server span of the request being served; it still answers as it will.

    For an exception the code handles (a fallback taken, an error turned into
    a normal answer) that still means the request failed. Its telemetry row
    gets `error_kind = "exception"` and the exception as text (`Type: message`,
    after its traceback when it was raised), whatever the status code: what an
    OpenTelemetry server span with an exception event and status ERROR maps
    to, and the analyzer counts such a request as failed. The first exception
    recorded is kept; an exception the request then fails with unhandled wins.
    Returns False, recording nothing, outside a request the middleware serves.
    """
    span = current_span.get()
    outcome = span.outcome if span is not None else None
    if outcome is None:
        return False
    if outcome.error_kind is None:
        outcome.error_kind = "exception"
        outcome.error_message = error_text("".join(traceback.format_exception(exc)))
    return True


def annotate(key: str, value: AttributeValue) -> bool:
    """Add `key = value` to the server span of the request being served: its telemetry row's
    `attributes` (jsonb), as an OpenTelemetry handler sets a span attribute.

    For what only the business code knows: an order's amount (checkout's `order.amount`,
    which the analyzer sums into revenue per minute), a customer's tier. A key set twice
    keeps the last value. Strings are bounded and made storable (no NUL, no lone
    surrogate) and a number that is not finite is kept as its name (jsonb has none), so a
    row is never refused for an annotation. Returns False, recording nothing, outside a
    request the middleware serves, or for a new key past MAX_ANNOTATIONS.
    """
    span = current_span.get()
    outcome = span.outcome if span is not None else None
    if outcome is None:
        return False
    if outcome.attributes is None:
        outcome.attributes = {}
    key = _storable_text(key, _MAX_KEY)
    if key not in outcome.attributes and len(outcome.attributes) >= MAX_ANNOTATIONS:
        return False
    outcome.attributes[key] = _storable(value)
    return True


def _storable(value: AttributeValue) -> AttributeValue:
    if isinstance(value, str):
        return _storable_text(value, _MAX_TEXT)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
    return value


def _storable_text(text: str, limit: int) -> str:
    return error_text(text.encode("utf-8", "replace").decode("utf-8"), limit)


# Ids must be unique, not secret: the module's Mersenne Twister (seeded from
# the OS, reseeded in forked children) costs a third of os.urandom's syscall,
# which was the middleware's largest single cost.
def new_trace_id() -> str:
    """A fresh trace id, already in W3C form (32 lowercase hex digits)."""
    return f"{random.getrandbits(128) or 1:032x}"


def new_span_id() -> str:
    return f"{random.getrandbits(64) or 1:016x}"


def valid_trace_id(value: str) -> bool:
    return _TRACE_ID_RE.fullmatch(value) is not None


def w3c_trace_id(trace_id: str) -> str:
    """The 32-hex form of a trace id, for `traceparent`.

    Ids that already are 32 hex digits (ours, and UUIDs once their dashes go)
    pass through, so OpenTelemetry neighbours see the same id; any other
    caller-chosen id maps to a stable digest of itself.
    """
    compact = trace_id.replace("-", "").lower()
    if _HEX32_RE.fullmatch(compact) and compact != _ZERO_TRACE:
        return compact
    return hashlib.blake2b(trace_id.encode(), digest_size=16).hexdigest()


def parse_traceparent(value: str) -> tuple[str, str] | None:
    """`(trace_id, parent_span_id)` from a valid `traceparent`, else None."""
    # ASCII blanks only: str.strip() would also take Unicode spaces (NEL, NBSP) off a hostile value.
    match = _TRACEPARENT_RE.fullmatch(value.strip(" \t"))
    if match is None:
        return None
    version, trace_id, span_id, _flags = match.groups()
    if version == "ff" or trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return trace_id, span_id


def format_traceparent(trace_id: str, span_id: str) -> str:
    return f"00-{w3c_trace_id(trace_id)}-{span_id}-01"


def extract_context(headers: Iterable[tuple[bytes, bytes]]) -> tuple[str, str | None]:
    """`(trace_id, parent_span_id)` for an incoming request.

    A valid `X-Trace-Id` wins; a valid `traceparent` supplies the parent span
    (and the trace id when `X-Trace-Id` is absent or invalid). Anything
    malformed, oversized or hostile is ignored and a fresh id is generated.
    """
    raw_trace_id: str | None = None
    parent: tuple[str, str] | None = None
    for name, value in headers:
        if name == b"x-trace-id":
            raw_trace_id = value.decode("latin-1")
        elif name == b"traceparent" and len(value) <= 128:
            parent = parse_traceparent(value.decode("latin-1"))
    if raw_trace_id is not None and valid_trace_id(raw_trace_id):
        if parent is not None and parent[0] == w3c_trace_id(raw_trace_id):
            return raw_trace_id, parent[1]
        return raw_trace_id, None
    if parent is not None:
        return parent
    return new_trace_id(), None


def outgoing_headers(trace_id: str, span_id: str) -> dict[str, str]:
    """Headers that make the callee's span a child of `span_id`."""
    return {
        TRACE_ID_HEADER: trace_id,
        TRACEPARENT_HEADER: format_traceparent(trace_id, span_id),
    }
