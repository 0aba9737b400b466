"""The analyzer's HTTP API: one model per response body.

The analyzer declares them as its routes' return types, and `aiops` and the
chaos tools parse its answers with them. Incidents are the engine's own
`Incident` (the document stored in Redis), served as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from aiops_engine.detection import Anomaly, Baseline, Evidence, KeyKind, Tally
from aiops_engine.detection.model import Coupling, Hour, Season
from aiops_engine.incidents import EventKind, Incident, RootCause, Severity, Status
from aiops_engine.incidents.model import AnomalyEvidence
from aiops_engine.rca import Blame, Dependency, Finding, Origin
from aiops_engine.rca.traces import TraceNode

from .common import ApiModel

__all__ = [
    "BASELINES",
    "INCIDENTS",
    "AnalyzeResult",
    "AnalyzerHealth",
    "Anomalies",
    "AnomalyRecord",
    "BaselineRecord",
    "CycleRun",
    "CycleSkipped",
    "Dependencies",
    "DependencyEdge",
    "EndpointLatency",
    "FoundCause",
    "HistoryBacklog",
    "HistoryEntry",
    "HourState",
    "HousekeepingStatus",
    "Incident",
    "IncidentDetail",
    "Latency",
    "LatencyBaseline",
    "LatencyPoint",
    "RedisStatus",
    "SeasonState",
    "Trace",
    "TraceOrigin",
    "TraceSpan",
    "Window",
]

# GET /health


class RedisStatus(ApiModel):
    status: Literal["ok", "unreachable"]
    error: str | None  # why the last Redis operation failed
    pending_findings: int  # waiting for Redis
    dropped_findings: int  # pushed out of a full queue during a long outage
    failed_findings: int  # the incident rules raised on them (a bug: see the log)


class HistoryBacklog(ApiModel):
    """Incident changes waiting for PostgreSQL, and those dropped in a long outage."""

    pending: int
    dropped: int


class HousekeepingStatus(ApiModel):
    minutes_rolled_up: int
    partitions_created: int
    partitions_dropped: int
    evidence_spans_kept: int
    failures: int
    last_error: str | None


class AnalyzerHealth(ApiModel):
    """Liveness; whether cycles run, this replica's role, Redis, and housekeeping."""

    service: str
    status: Literal["ok", "degraded"]
    role: Literal["leader", "standby"]
    identity: str  # host:pid:random; the leader's is in Redis at analyzer:leader
    cycles: int
    last_cycle_at: datetime | None
    last_error: str | None
    fenced_writes: int  # writes refused: a newer leader had taken over
    baselines: int | None  # None until this replica has loaded its state
    redis: RedisStatus
    incident_history: HistoryBacklog
    housekeeping: HousekeepingStatus


# GET /anomalies, POST /analyze


class AnomalyRecord(AnomalyEvidence):
    """An anomaly as an incident holds it, with the traces it was seen in."""

    sample_trace_ids: list[str]

    @classmethod
    def of(cls, anomaly: Anomaly) -> AnomalyRecord:
        evidence = AnomalyEvidence.of(anomaly)
        return cls(**dict(evidence), sample_trace_ids=list(anomaly.sample_trace_ids))


class Anomalies(ApiModel):
    active: list[AnomalyRecord]  # those of the last `anomaly_retention_s`
    recent: list[AnomalyRecord]  # all of the last `minutes`, newest first


class Window(ApiModel):
    start: datetime
    end: datetime


class FoundCause(ApiModel):
    """One finding of a cycle: where its trouble starts, and why."""

    root_cause: RootCause
    confidence: float
    explanation: str

    @classmethod
    def of(cls, finding: Finding) -> FoundCause:
        cause = RootCause(service=finding.root_cause.service, endpoint=finding.root_cause.endpoint)
        return cls(root_cause=cause, confidence=finding.confidence, explanation=finding.explanation)


class CycleRun(ApiModel):
    analyzed: Literal[True]
    window: Window
    rows: int
    seconds: float
    anomalies: list[AnomalyRecord]
    root_causes: list[FoundCause]


class CycleSkipped(ApiModel):
    analyzed: Literal[False]
    reason: str


AnalyzeResult = Annotated[CycleRun | CycleSkipped, Field(discriminator="analyzed")]

# GET /baselines


class HourState(ApiModel):
    """`Hour` of the engine; `least_rate` is None while no window counted (its infinity)."""

    hour: int
    windows: int
    requests: int
    p50: float
    p50_sq: float
    far: float
    far_sq: float
    errors: float
    errors_sq: float
    least_rate: float | None

    @classmethod
    def of(cls, hour: Hour) -> HourState:
        least = None if hour.least_rate == float("inf") else hour.least_rate
        return cls(hour=hour.hour, windows=hour.windows, requests=hour.requests, p50=hour.p50,
                   p50_sq=hour.p50_sq, far=hour.far, far_sq=hour.far_sq, errors=hour.errors,
                   errors_sq=hour.errors_sq, least_rate=least)  # fmt: skip


class SeasonState(ApiModel):
    hours: list[HourState]
    current: HourState | None

    @classmethod
    def of(cls, season: Season) -> SeasonState:
        current = None if season.current is None else HourState.of(season.current)
        return cls(hours=[HourState.of(h) for h in season.hours], current=current)


class BaselineRecord(ApiModel):
    """A learned baseline: the engine's `Baseline`, its key spelled out, and whether it is
    established. The held, evidence, dropped, coupling and season state lives only in the
    leader's memory: from PostgreSQL it is always empty."""

    key: str  # "payment /payment" or "checkout → payment"
    kind: KeyKind
    service: str
    target: str
    level_ms: float
    spread_ms: float
    rate_per_s: float
    error_rate: float
    samples: int
    windows: int
    updated_at: datetime
    tail_ms: float
    slow_rate: float
    far_rate: float
    held_count: int
    held_slow: int
    held_far: int
    held_errors: int
    held_end: datetime | None
    evidence: Evidence
    traffic_windows: int
    dropped: Tally
    dropped_end: datetime | None
    coupling: Coupling
    season: SeasonState
    established: bool  # enough windows to judge latency and silence against

    @classmethod
    def of(cls, b: Baseline, *, established: bool) -> BaselineRecord:
        return cls(
            key=str(b.key), kind=b.key.kind, service=b.key.service, target=b.key.target,
            level_ms=b.level_ms, spread_ms=b.spread_ms, rate_per_s=b.rate_per_s,
            error_rate=b.error_rate, samples=b.samples, windows=b.windows,
            updated_at=b.updated_at, tail_ms=b.tail_ms, slow_rate=b.slow_rate,
            far_rate=b.far_rate, held_count=b.held_count, held_slow=b.held_slow,
            held_far=b.held_far, held_errors=b.held_errors, held_end=b.held_end,
            evidence=b.evidence, traffic_windows=b.traffic_windows, dropped=b.dropped,
            dropped_end=b.dropped_end, coupling=b.coupling, season=SeasonState.of(b.season),
            established=established,
        )  # fmt: skip


BASELINES: TypeAdapter[list[BaselineRecord]] = TypeAdapter(list[BaselineRecord])


# GET /incidents, /incidents/{id}; POST .../acknowledge, .../resolve: `Incident`

INCIDENTS: TypeAdapter[list[Incident]] = TypeAdapter(list[Incident])


class HistoryEntry(ApiModel):
    """One change to an incident, as the history table in PostgreSQL keeps it."""

    incident_id: str
    at: datetime
    event: EventKind
    status: Status
    severity: Severity
    root_service: str
    root_endpoint: str | None
    detail: str


class IncidentDetail(ApiModel):
    """One incident and its history; once expired from Redis, the history alone."""

    incident: Incident | None
    expired: bool
    history: list[HistoryEntry]  # oldest first


# GET /dependencies


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


# GET /latency (the dashboard's chart)


class LatencyPoint(ApiModel):
    start: datetime
    count: int
    p50_ms: float


class LatencyBaseline(ApiModel):
    level_ms: float
    spread_ms: float
    windows: int
    established: bool
    threshold_ms: float | None  # once established: detection only judges from then


class EndpointLatency(ApiModel):
    key: str
    service: str
    endpoint: str
    points: list[LatencyPoint]
    baseline: LatencyBaseline | None


class Latency(ApiModel):
    since: datetime
    until: datetime
    bucket_s: float
    endpoints: list[EndpointLatency]
