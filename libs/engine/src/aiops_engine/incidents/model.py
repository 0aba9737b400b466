"""An incident: the document stored in Redis, returned by the API and sent to webhooks."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from aiops_engine.detection import Anomaly


class Status(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class EventKind(StrEnum):
    """A change to an incident, as recorded in its history and sent to webhooks."""

    OPENED = "opened"
    UPDATED = "updated"  # new evidence: affected services or endpoints grew
    SEVERITY_CHANGED = "severity_changed"
    ROOT_CAUSE_CHANGED = "root_cause_changed"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    REOPENED = "reopened"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RootCause(_Frozen):
    service: str
    endpoint: str | None = None  # None when a whole service is blamed (e.g. postgres)

    def __str__(self) -> str:
        return self.service if self.endpoint is None else f"{self.service} {self.endpoint}"


class RankedCandidate(_Frozen):
    service: str
    endpoint: str | None
    score: float  # share of the evidence, 0..1
    traces: int  # traces whose trouble starts here
    evidence: str


class AnomalyEvidence(_Frozen):
    """One anomaly behind an incident, with its explanation."""

    type: str
    key: str  # "payment /payment" or "checkout → payment"
    kind: str  # endpoint or edge
    service: str
    target: str
    observed: float
    baseline: float | None
    threshold: float
    score: float
    sample_count: int
    window_start: datetime
    window_end: datetime
    explanation: str

    @classmethod
    def of(cls, anomaly: Anomaly) -> AnomalyEvidence:
        return cls(
            type=anomaly.type.value,
            key=str(anomaly.key),
            kind=anomaly.key.kind.value,
            service=anomaly.key.service,
            target=anomaly.key.target,
            observed=anomaly.observed,
            baseline=anomaly.baseline,
            threshold=anomaly.threshold,
            score=anomaly.score,
            sample_count=anomaly.sample_count,
            window_start=anomaly.window_start,
            window_end=anomaly.window_end,
            explanation=anomaly.explanation,
        )


class Incident(_Frozen):
    id: str  # INC-<opened, UTC>-<random>, e.g. INC-20261127-101502-3f2a
    title: str
    status: Status
    severity: Severity
    root_cause: RootCause
    candidates: list[RankedCandidate]  # best first
    confidence: float  # share of analysed traces pointing at the root cause
    explanation: str  # why this root cause, e.g. "payment /payment failed first in 5/5 traces"
    affected_services: list[str]
    affected_endpoints: list[str]
    anomalies: list[AnomalyEvidence]  # the latest per series and type, newest first
    sample_trace_ids: list[str]
    opened_at: datetime
    updated_at: datetime
    last_anomaly_at: datetime  # end of the latest window with an anomaly
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None  # "auto" (clear long enough), "user" or "new_normal"
    # Why it resolved, when more than who: "checkout:conversion: new normal since ..."
    resolution: str | None = None
    reopen_count: int = 0
    version: int = 1  # bumped by every change, so concurrent writers can tell


class IncidentEvent(_Frozen):
    """One change: appended to the history table and sent to webhooks."""

    kind: EventKind
    at: datetime
    incident: Incident  # the incident after the change
    detail: str  # e.g. "severity high → critical"
