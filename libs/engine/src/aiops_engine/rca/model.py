"""The plain data root-cause analysis works on: spans in, suspects and findings out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from aiops_engine.detection import Anomaly

DATABASE = "postgres"  # the suspect a failed or slow query blames when it names no database


@dataclass(frozen=True, slots=True)
class Span:
    """One telemetry row: a request a service served, or a call it made."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    service: str  # who recorded the span
    endpoint: str  # route template; the callee's path for a client span; SQL label for a query
    method: str  # HTTP method, or "SQL" for a database query
    kind: str  # "server" or "client"
    status_code: int | None  # None when a call got no response
    latency_ms: float
    start: datetime
    peer_service: str | None = None  # callee of a client span
    error_kind: str | None = None  # timeout, connection_refused, exception, ...
    error_message: str | None = None

    @property
    def is_server(self) -> bool:
        return self.kind == "server"

    @property
    def is_query(self) -> bool:
        return self.method == "SQL"

    @property
    def failed(self) -> bool:
        """Failure as the window query counts it (storage.WINDOW_STATS_SQL).

        A server span fails on a 5xx or a recorded failure kind other than
        "cancelled" (the client left). A client span fails on a 5xx, on a
        recorded failure kind, or when an HTTP call got no response at all
        (a query, or a non-HTTP OTLP span with method "", states its failures).
        """
        if self.is_server:
            errored = self.error_kind is not None and self.error_kind != "cancelled"
            return errored or (self.status_code is not None and self.status_code >= 500)
        if self.error_kind is not None:
            return True
        if self.status_code is None:
            return not self.is_query and self.method != ""
        return self.status_code >= 500


@dataclass(frozen=True, slots=True, order=True)
class Suspect:
    """A place a problem can start: a service's endpoint, or a whole service (endpoint None)."""

    service: str
    endpoint: str | None = None

    def __str__(self) -> str:
        return self.service if self.endpoint is None else f"{self.service} {self.endpoint}"


class Blame(StrEnum):
    """Why a span was picked as where a trace's trouble starts."""

    FAILED = "failed"  # it failed while everything it called was healthy
    SLOW = "slow"  # it was slow while everything it called was quick
    NO_ANSWER = "no_answer"  # a call failed and the callee recorded no span: blame the callee
    DATABASE = "database"  # a database query failed or was slow: blame the database


@dataclass(frozen=True, slots=True)
class Origin:
    """Where one trace's trouble starts, and the span that shows it."""

    suspect: Suspect
    span: Span
    blame: Blame


@dataclass(frozen=True, slots=True)
class Candidate:
    """A ranked suspect: its share of the evidence, and how many traces point at it."""

    suspect: Suspect
    score: float  # 0..1; the scores of one finding's candidates add up to 1
    traces: int  # traces whose trouble starts here
    evidence: str  # one sentence, e.g. "failed first in 5/5 traces"


@dataclass(frozen=True, slots=True)
class Dependency:
    """One learned caller→callee edge between services."""

    caller: str
    callee: str
    calls: int
    errors: int
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class DependencyGraph:
    """Who calls whom, learned from client spans and the server spans they caused."""

    edges: Mapping[tuple[str, str], Dependency] = field(default_factory=dict)

    @classmethod
    def of(cls, dependencies: Iterable[Dependency]) -> DependencyGraph:
        return cls({(d.caller, d.callee): d for d in dependencies})

    @property
    def services(self) -> frozenset[str]:
        return frozenset(name for edge in self.edges for name in edge)

    def callees(self, service: str) -> frozenset[str]:
        return frozenset(callee for caller, callee in self.edges if caller == service)

    def downstream(self, service: str) -> frozenset[str]:
        """Every service `service` depends on, directly or through others."""
        seen: set[str] = set()
        frontier = [service]
        while frontier:
            for callee in self.callees(frontier.pop()):
                if callee not in seen and callee != service:
                    seen.add(callee)
                    frontier.append(callee)
        return frozenset(seen)

    def merge(self, observed: Iterable[Dependency]) -> DependencyGraph:
        """This graph with `observed` (one window's counts) added to it."""
        edges = dict(self.edges)
        for new in observed:
            old = edges.get((new.caller, new.callee))
            edges[(new.caller, new.callee)] = (
                new
                if old is None
                else Dependency(
                    caller=new.caller,
                    callee=new.callee,
                    calls=old.calls + new.calls,
                    errors=old.errors + new.errors,
                    first_seen=min(old.first_seen, new.first_seen),
                    last_seen=max(old.last_seen, new.last_seen),
                )
            )
        return DependencyGraph(edges)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: correlated anomalies, the root cause their traces point at, ranked suspects."""

    root_cause: Suspect
    candidates: tuple[Candidate, ...]  # best first; candidates[0].suspect == root_cause
    confidence: float  # share of the analysed traces that point at the root cause
    anomalies: tuple[Anomaly, ...]
    trace_ids: tuple[str, ...]  # the traces that were analysed, those pointing at the root first
    explanation: str  # e.g. "payment /payment failed first in 2/2 traces"

    @property
    def affected_services(self) -> frozenset[str]:
        names = {a.key.service for a in self.anomalies} | {self.root_cause.service}
        return frozenset(names)
