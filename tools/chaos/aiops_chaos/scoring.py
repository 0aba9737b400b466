"""Judging the analyzer's incidents against a scenario's ground truth: pure functions.

Incidents arrive parsed from the analyzer's API (`Incident`). One that was
opened at or after a moment, or took in an anomaly from a window ending at or
after it (`last_anomaly_at`: the analyzer reopens an incident whose cause
returns within its correlation window, so a new id is not the only sign of a
new detection), "happened since" it. Status changes (acknowledged, resolved)
move `updated_at` but detect nothing, so they do not count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from aiops_api.analyzer import BaselineRecord, Incident

from .results import RootCause, ScenarioResult

TOP_K = 3  # "top-3": the cause is among an incident's first three candidates
# Every checkout crosses these; latency faults go unseen until they have learned enough.
REQUIRED_BASELINES = (
    ("checkout", "/checkout"),
    ("payment", "/payment"),
    ("inventory", "/inventory/reserve"),
)


@dataclass(frozen=True, slots=True)
class IncidentView:
    """The parts of an incident that scoring reads."""

    id: str
    status: str
    root_cause: RootCause
    candidates: tuple[RootCause, ...]  # best first
    affected_services: frozenset[str]
    opened_at: datetime
    updated_at: datetime
    last_anomaly_at: datetime

    @classmethod
    def of(cls, incident: Incident) -> IncidentView:
        cause = incident.root_cause
        return cls(
            id=incident.id,
            status=incident.status,
            root_cause=RootCause(cause.service, cause.endpoint),
            candidates=tuple(RootCause(c.service, c.endpoint) for c in incident.candidates),
            affected_services=frozenset(incident.affected_services),
            opened_at=incident.opened_at,
            updated_at=incident.updated_at,
            last_anomaly_at=incident.last_anomaly_at,
        )

    def changed_since(self, moment: datetime) -> bool:
        """Opened at or after `moment`, or given an anomaly of a window ending since."""
        return self.opened_at >= moment or self.last_anomaly_at >= moment

    def names(self, cause: RootCause) -> bool:
        """Its root cause is `cause` (top-1)."""
        return cause.matches(self.root_cause.service, self.root_cause.endpoint)

    def ranks(self, cause: RootCause, top: int = TOP_K) -> bool:
        """`cause` is its root cause or among its first `top` candidates."""
        return self.names(cause) or any(
            cause.matches(c.service, c.endpoint) for c in self.candidates[:top]
        )

    def involves(self, cause: RootCause) -> bool:
        """It is about `cause` at all: a candidate at any rank, or an affected service."""
        return (
            self.ranks(cause, top=len(self.candidates)) or cause.service in self.affected_services
        )


@dataclass(frozen=True, slots=True)
class Score:
    detected: bool  # every expected cause has an incident (for a control: any incident)
    detected_at: datetime | None  # when the last expected cause got its first incident
    time_to_detect_s: float | None  # detected_at - fault_at
    rca_top1_correct: bool | None  # None for a control
    rca_top3_correct: bool | None
    false_positives: int
    false_negatives: int
    incidents: list[Incident]  # those of the run, oldest first


def score(
    expected: Sequence[RootCause],
    incidents: Iterable[Incident],
    *,
    started_at: datetime,
    fault_at: datetime | None,
    first_seen: Mapping[str, datetime] | None = None,
) -> Score:
    """Score a run: the incidents changed since `started_at` against `expected`.

    Only incidents opened or reopened at or after `fault_at` can detect or
    name a fault; every other incident of the run, and every one naming no
    expected cause, is a false positive. With no expected cause (a control)
    every incident of the run is one. `first_seen` (id → when a poll first
    saw it open) times the detection; without it, the incident's own stamps do.
    """
    ordered = sorted(incidents, key=lambda incident: incident.opened_at)
    run = [(incident, IncidentView.of(incident)) for incident in ordered]
    run = [(incident, view) for incident, view in run if view.changed_since(started_at)]
    views = [view for _, view in run]
    kept = [incident for incident, _ in run]
    seen = first_seen or {}
    if not expected:
        first = min((_seen_at(v, started_at, seen) for v in views), default=None)
        return Score(bool(views), first, None, None, None, len(views), 0, kept)
    fresh = [v for v in views if fault_at is not None and v.changed_since(fault_at)]
    fresh_ids = {v.id for v in fresh}
    reference = fault_at or started_at
    firsts: list[datetime] = []
    for cause in expected:
        times = [_seen_at(v, reference, seen) for v in fresh if v.involves(cause)]
        if times:
            firsts.append(min(times))
    detected = len(firsts) == len(expected)
    detected_at = max(firsts) if detected else None
    ttd = (detected_at - fault_at).total_seconds() if detected_at and fault_at else None
    # Judged on the first incident about each cause, so blaming several
    # services in turn does not pass because one of them was right.
    first_about = [
        min(
            (v for v in fresh if v.involves(cause)),
            key=lambda v: _seen_at(v, reference, seen),
            default=None,
        )
        for cause in expected
    ]
    named = [v is not None and v.names(c) for v, c in zip(first_about, expected, strict=True)]
    top3 = all(v is not None and v.ranks(c) for v, c in zip(first_about, expected, strict=True))
    false_positives = sum(
        1 for v in views if v.id not in fresh_ids or not any(v.names(c) for c in expected)
    )
    return Score(
        detected, detected_at, ttd, all(named), top3, false_positives, named.count(False), kept
    )


def all_named(
    expected: Sequence[RootCause], incidents: Iterable[Incident], *, since: datetime
) -> bool:
    """Every expected cause is the root cause of an incident changed since `since`."""
    views = [IncidentView.of(incident) for incident in incidents]
    fresh = [v for v in views if v.changed_since(since)]
    return bool(expected) and all(any(v.names(c) for v in fresh) for c in expected)


def note_sightings(
    first_seen: Mapping[str, datetime],
    incidents: Iterable[Incident],
    *,
    since: datetime,
    now: datetime,
) -> dict[str, datetime]:
    """`first_seen` plus, at `now`, every open incident changed since `since` not seen before."""
    noted = dict(first_seen)
    for incident in incidents:
        view = IncidentView.of(incident)
        if view.status == "open" and view.changed_since(since) and view.id not in noted:
            noted[view.id] = now
    return noted


def merge_incidents(*batches: Iterable[Incident]) -> list[Incident]:
    """One entry per id, the latest version of it (by `updated_at`, then `version`)."""
    latest: dict[str, Incident] = {}
    for batch in batches:
        for incident in batch:
            known = latest.get(incident.id)
            if known is None or _version(incident) >= _version(known):
                latest[incident.id] = incident
    return list(latest.values())


def missing_baselines(
    baselines: Iterable[BaselineRecord],
    required: Iterable[tuple[str, str]] = REQUIRED_BASELINES,
) -> list[str]:
    """The required endpoint baselines not established yet, as "payment /payment"."""
    ready = {(b.service, b.target) for b in baselines if b.kind == "endpoint" and b.established}
    return [f"{service} {target}" for service, target in required if (service, target) not in ready]


def passed(result: ScenarioResult) -> bool:
    """A fault scenario passes when detected, blamed right, nothing else was blamed and the
    business-metric anomaly it expects (if any) is in the root cause's incident; a control
    when no incident opened."""
    if not result.expected_root_cause:
        return not result.detected and result.false_positives == 0
    return (
        result.detected
        and result.rca_top1_correct is True
        and result.false_positives == 0
        and result.business_metric_linked is not False
    )


def summary_line(result: ScenarioResult) -> str:
    """One line: the verdict and the figures behind it."""
    verdict = "PASS" if passed(result) else "FAIL"
    ttd = "—" if result.time_to_detect_s is None else f"{result.time_to_detect_s:.1f} s"
    return (
        f"{verdict} {result.name}: detected {'yes' if result.detected else 'no'}, "
        f"time to detect {ttd}, top-1 {_yes_no(result.rca_top1_correct)}, "
        f"top-3 {_yes_no(result.rca_top3_correct)}, false positives {result.false_positives}, "
        f"false negatives {result.false_negatives}, incidents {len(result.incidents)}"
        + _metric_text(result)
    )


def verdict_notes(
    expect_within_s: float, has_faults: bool, ttd: float | None, incidents: Sequence[object]
) -> list[str]:
    """Notes for the report: a detection beyond the target, or no incident at all."""
    if ttd is not None and ttd > expect_within_s:
        return [f"detected after {ttd:.1f} s, beyond the scenario's {expect_within_s:g} s target"]
    if has_faults and not incidents:
        return ["the analyzer opened no incident during the run"]
    return []


def describe_incident(incident: Incident) -> str:
    """An incident in a few readable lines: cause, confidence, why, candidates, anomalies."""
    reopened = incident.reopen_count
    lines = [
        f"{incident.id} [{incident.status}, {incident.severity}"
        + (f", reopened {reopened} times" if reopened else "")
        + f"] root cause {incident.root_cause} (confidence {incident.confidence:.0%})",
        f"  {incident.title}".rstrip(),
        f"  why: {incident.explanation}",
    ]
    for rank, candidate in enumerate(incident.candidates[:TOP_K], start=1):
        cause = RootCause(candidate.service, candidate.endpoint)
        lines.append(f"  candidate {rank}: {cause} {candidate.score:.0%} — {candidate.evidence}")
    for anomaly in incident.anomalies:
        lines.append(f"  anomaly: {anomaly.explanation}")
    return "\n".join(line for line in lines if line.strip())


def _seen_at(view: IncidentView, reference: datetime, seen: Mapping[str, datetime]) -> datetime:
    polled = seen.get(view.id)
    if polled is not None and polled >= reference:
        return polled
    return view.opened_at if view.opened_at >= reference else view.last_anomaly_at


def _version(incident: Incident) -> tuple[datetime, int]:
    return incident.updated_at, incident.version


def _metric_text(result: ScenarioResult) -> str:
    series = result.expected_business_metric
    linked = _yes_no(result.business_metric_linked)
    return f", {series} anomaly in the root cause's incident {linked}" if series else ""


def _yes_no(value: bool | None) -> str:
    return "—" if value is None else ("yes" if value else "no")
