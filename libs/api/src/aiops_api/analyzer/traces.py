"""GET /dependencies and GET /traces/{trace_id}: the service graph, and one trace's tree."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from aiops_api.common import ApiModel
from aiops_engine.rca import Blame, Dependency, Origin
from aiops_engine.rca.traces import TraceNode


class DependencyEdge(ApiModel):
    caller: str
    callee: str
    calls: int
    errors: int
    error_rate: float
    first_seen: datetime
    last_seen: datetime

    @classmethod
    def of(cls, d: Dependency) -> DependencyEdge:
        return cls(caller=d.caller, callee=d.callee, calls=d.calls, errors=d.errors,
                   error_rate=d.errors / d.calls if d.calls else 0.0,
                   first_seen=d.first_seen, last_seen=d.last_seen)  # fmt: skip


class Dependencies(ApiModel):
    """The service graph learned from client spans and the server spans they caused."""

    services: list[str]
    edges: list[DependencyEdge]


# GET /traces/{trace_id}


class TraceOrigin(ApiModel):
    """A span where the trace's trouble starts, and why it is blamed."""

    service: str
    endpoint: str | None
    blame: Blame
    span_id: str

    @classmethod
    def of(cls, origin: Origin) -> TraceOrigin:
        return cls(service=origin.suspect.service, endpoint=origin.suspect.endpoint,
                   blame=origin.blame, span_id=origin.span.span_id)  # fmt: skip


class TraceSpan(ApiModel):
    """A span of the tree, with its children."""

    span_id: str
    parent_span_id: str | None
    service: str
    kind: str  # server or client
    method: str  # an HTTP method, or SQL
    endpoint: str
    peer_service: str | None
    status_code: int | None  # None: no response
    latency_ms: float
    start: datetime
    failed: bool
    error_kind: str | None
    error: str | None  # the last line of the error message
    origin: Blame | None  # set when the trouble starts here
    children: list[TraceSpan]

    @classmethod
    def of(cls, node: TraceNode, blamed: Mapping[str, Origin]) -> TraceSpan:
        span = node.span
        origin = blamed.get(span.span_id)
        return cls(
            span_id=span.span_id, parent_span_id=span.parent_span_id, service=span.service,
            kind=span.kind, method=span.method, endpoint=span.endpoint,
            peer_service=span.peer_service, status_code=span.status_code,
            latency_ms=span.latency_ms, start=span.start, failed=span.failed,
            error_kind=span.error_kind,
            error=span.error_message.splitlines()[-1] if span.error_message else None,
            origin=origin.blame if origin else None,
            children=[cls.of(child, blamed) for child in node.children],
        )  # fmt: skip


class Trace(ApiModel):
    """A trace as a tree with timings and statuses, and where its trouble starts."""

    trace_id: str
    spans: int
    services: list[str]
    duration_ms: float
    origins: list[TraceOrigin]
    roots: list[TraceSpan]
