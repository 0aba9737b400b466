"""Incidents as pure functions: open one from a finding, fold new findings in, move its status.

Deduplication lives in `match`: while an incident is open, a finding with the
same root cause (or one that is only a symptom of it) updates that incident
rather than opening another; a resolved incident whose cause returns within
the correlation window is reopened, not duplicated. Every function returns a
new `Incident`, with `version` bumped, so the store can write it with a
compare-and-set and `changes` can say what happened.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiops_engine.detection import AnomalyType
from aiops_engine.rca import DependencyGraph, Finding

from .evidence import first_unique, merge_evidence, ranked_candidates, severity_of, title_of
from .model import EventKind, Incident, IncidentEvent, RootCause, Status


class TransitionError(ValueError):
    """A status change that is not allowed from the incident's current status."""


@dataclass(frozen=True, slots=True)
class IncidentPolicy:
    # A finding joins an incident whose last anomaly is this recent; a resolved
    # incident whose cause returns within it is reopened (the seed's 5 minutes).
    correlation_window_s: float = 300.0
    # An incident with no anomaly for this long is resolved automatically.
    resolve_after_s: float = 120.0
    max_anomalies: int = 20  # evidence kept: the latest per series and type
    max_trace_ids: int = 10

    def __post_init__(self) -> None:
        if not 0 < self.resolve_after_s <= self.correlation_window_s:
            # An incident must still be matchable while it is open, or it would be duplicated.
            raise ValueError("need 0 < resolve_after_s <= correlation_window_s")
        if self.max_anomalies < 1 or self.max_trace_ids < 1:
            raise ValueError("max_anomalies and max_trace_ids must be >= 1")


def new_incident_id(now: datetime, token: str) -> str:
    """INC-<UTC time opened>-<token>: sortable by eye, unique without coordination."""
    return f"INC-{now:%Y%m%d-%H%M%S}-{token}"


def open_incident(
    finding: Finding, *, incident_id: str, now: datetime, policy: IncidentPolicy
) -> Incident:
    evidence = merge_evidence([], finding, limit=policy.max_anomalies)
    root = RootCause(service=finding.root_cause.service, endpoint=finding.root_cause.endpoint)
    return Incident(
        id=incident_id,
        title=title_of(root, evidence),
        status=Status.OPEN,
        severity=severity_of(evidence),
        root_cause=root,
        candidates=ranked_candidates(finding),
        confidence=finding.confidence,
        explanation=finding.explanation,
        affected_services=sorted(finding.affected_services),
        affected_endpoints=sorted({a.key for a in evidence}),
        anomalies=evidence,
        sample_trace_ids=first_unique(finding.trace_ids, policy.max_trace_ids),
        opened_at=now,
        updated_at=now,
        last_anomaly_at=max(a.window_end for a in finding.anomalies),
    )


def match(
    incidents: Iterable[Incident],
    finding: Finding,
    *,
    policy: IncidentPolicy,
    graph: DependencyGraph,
) -> Incident | None:
    """The incident `finding` belongs to, or None if it is a new problem.

    In order of preference: the same root cause; the same root service; an
    incident the finding is only a symptom of. A finding is a symptom when
    its root service depends on the incident's root cause and no trace of
    its own points at that root (the graph chose it), or when it is nothing
    but silence below a service the incident affects (traffic stopped
    reaching it). Among equals, open before resolved, then newest.
    """
    window = timedelta(seconds=policy.correlation_window_s)
    root = finding.root_cause
    # Judged at the finding's own time, not now: findings that waited out a
    # Redis outage are grouped as they happened.
    seen = max(a.window_end for a in finding.anomalies)

    def recent(incident: Incident) -> bool:
        if incident.status is Status.RESOLVED:
            return incident.resolved_at is not None and seen - incident.resolved_at <= window
        return seen - incident.last_anomaly_at <= window

    def rank(incident: Incident) -> tuple[int, int, datetime] | None:
        cause = incident.root_cause
        if (cause.service, cause.endpoint) == (root.service, root.endpoint):
            tier = 0
        elif cause.service == root.service:
            tier = 1
        elif _symptom_of(incident, finding, graph):
            tier = 2
        else:
            return None
        return (tier, int(incident.status is Status.RESOLVED), incident.updated_at)

    ranked = [(r, i) for i in incidents if recent(i) and (r := rank(i)) is not None]
    if not ranked:
        return None
    best_tier = min(r[:2] for r, _ in ranked)
    return max((i for r, i in ranked if r[:2] == best_tier), key=lambda i: i.updated_at)


def _symptom_of(incident: Incident, finding: Finding, graph: DependencyGraph) -> bool:
    root = finding.root_cause.service
    cause = incident.root_cause.service
    traced = any(c.traces for c in finding.candidates if c.suspect.service == root)
    if not traced and cause in graph.downstream(root) and root in incident.affected_services:
        return True
    silent = all(a.type is AnomalyType.SILENCE for a in finding.anomalies)
    return silent and any(
        root == service or root in graph.downstream(service)
        for service in incident.affected_services
    )


def absorb(
    incident: Incident, finding: Finding, *, now: datetime, policy: IncidentPolicy
) -> Incident:
    """`incident` with `finding`'s evidence folded in; reopened if it was resolved.

    A reopened incident describes its new episode: evidence, affected set,
    sample traces and severity start again from the finding (the history
    table keeps the earlier ones).
    """
    reopening = incident.status is Status.RESOLVED
    kept = None if reopening else incident  # what of the incident carries over
    evidence = merge_evidence(kept.anomalies if kept else [], finding, limit=policy.max_anomalies)
    severity = severity_of(evidence)
    if kept:
        severity = max(kept.severity, severity, key=lambda s: s.rank)
    update: dict[str, object] = {
        "anomalies": evidence,
        "severity": severity,
        "affected_services": sorted(
            {*(kept.affected_services if kept else ()), *finding.affected_services}
        ),
        "affected_endpoints": sorted(
            {*(kept.affected_endpoints if kept else ()), *(a.key for a in evidence)}
        ),
        "sample_trace_ids": first_unique(
            [*finding.trace_ids, *(kept.sample_trace_ids if kept else ())],
            policy.max_trace_ids,
        ),
        "last_anomaly_at": max(
            incident.last_anomaly_at, *(a.window_end for a in finding.anomalies)
        ),
        "updated_at": now,
        "version": incident.version + 1,
    }
    if finding.root_cause.service == incident.root_cause.service:
        # The same cause seen again: its newest ranking is the better evidence,
        # and a blamed endpoint is more precise than a blamed service.
        endpoint = finding.root_cause.endpoint or incident.root_cause.endpoint
        update |= {
            "root_cause": RootCause(service=incident.root_cause.service, endpoint=endpoint),
            "candidates": ranked_candidates(finding),
            "confidence": finding.confidence,
            "explanation": finding.explanation,
        }
    if reopening:
        update |= {
            "status": Status.OPEN,
            "resolved_at": None,
            "resolved_by": None,
            "resolution": None,
            "acknowledged_at": None,
            "reopen_count": incident.reopen_count + 1,
        }
    updated = incident.model_copy(update=update)
    return updated.model_copy(update={"title": title_of(updated.root_cause, updated.anomalies)})


def acknowledge(incident: Incident, *, now: datetime) -> Incident:
    """Someone is on it: open → acknowledged. Acknowledging twice changes nothing."""
    if incident.status is Status.RESOLVED:
        raise TransitionError(f"{incident.id} is resolved; it cannot be acknowledged")
    if incident.status is Status.ACKNOWLEDGED:
        return incident
    return incident.model_copy(
        update={
            "status": Status.ACKNOWLEDGED,
            "acknowledged_at": now,
            "updated_at": now,
            "version": incident.version + 1,
        }
    )


def resolve(incident: Incident, *, now: datetime, by: str) -> Incident:
    """open or acknowledged → resolved, by "user" or "auto"."""
    if incident.status is Status.RESOLVED:
        raise TransitionError(f"{incident.id} is already resolved")
    return incident.model_copy(
        update={
            "status": Status.RESOLVED,
            "resolved_at": now,
            "resolved_by": by,
            "updated_at": now,
            "version": incident.version + 1,
        }
    )


def auto_resolve(incident: Incident, *, now: datetime, policy: IncidentPolicy) -> Incident:
    """Resolved once no anomaly has been seen for `resolve_after_s`; otherwise unchanged."""
    quiet = now - incident.last_anomaly_at >= timedelta(seconds=policy.resolve_after_s)
    if incident.status is Status.RESOLVED or not quiet:
        return incident
    return resolve(incident, now=now, by="auto")


def changes(before: Incident | None, after: Incident, *, now: datetime) -> list[IncidentEvent]:
    """What happened between two versions of an incident, as history events."""

    def event(kind: EventKind, detail: str) -> IncidentEvent:
        return IncidentEvent(kind=kind, at=now, incident=after, detail=detail)

    if before is None:
        return [event(EventKind.OPENED, f"{after.title} ({after.severity})")]
    events = []
    if before.status is not after.status:
        if after.status is Status.OPEN:
            events.append(event(EventKind.REOPENED, f"reopened: {after.root_cause}"))
        elif after.status is Status.ACKNOWLEDGED:
            events.append(event(EventKind.ACKNOWLEDGED, "acknowledged"))
        else:
            why = f": {after.resolution}" if after.resolution else ""
            events.append(event(EventKind.RESOLVED, f"resolved by {after.resolved_by}{why}"))
    if before.severity is not after.severity:
        events.append(
            event(EventKind.SEVERITY_CHANGED, f"severity {before.severity} → {after.severity}")
        )
    if before.root_cause != after.root_cause:
        events.append(
            event(
                EventKind.ROOT_CAUSE_CHANGED,
                f"root cause {before.root_cause} → {after.root_cause}",
            )
        )
    grew = set(after.affected_endpoints) - set(before.affected_endpoints)
    if grew:
        events.append(event(EventKind.UPDATED, f"now also affects {', '.join(sorted(grew))}"))
    return events
