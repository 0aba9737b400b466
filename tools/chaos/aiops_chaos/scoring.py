"""Judging the analyzer's incidents against a scenario's ground truth: pure functions.

Incidents arrive as the analyzer's JSON. One that was opened at or after a
moment, or took in an anomaly from a window ending at or after it
(`last_anomaly_at`: the analyzer reopens an incident whose cause returns
within its correlation window, so a new id is not the only sign of a new
detection), "happened since" it. Status changes (acknowledged, resolved)
move `updated_at` but detect nothing, so they do not count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .results import RootCause, ScenarioResult

TOP_K = 3  # "top-3": the cause is among an incident's first three candidates
# Every checkout crosses these; latency faults go unseen until they have learned enough.
REQUIRED_BASELINES = (
    ("checkout", "/checkout"),
    ("payment", "/payment"),
    ("inventory", "/inventory/reserve"),
)
MIN_WINDOWS = 10  # the analyzer's default, for baselines that do not say `established`


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
    def of(cls, raw: Mapping[str, Any]) -> IncidentView:
        cause = raw["root_cause"]
        return cls(
            id=str(raw["id"]),
            status=str(raw.get("status", "")),
            root_cause=RootCause(cause["service"], cause.get("endpoint")),
            candidates=tuple(
                RootCause(c["service"], c.get("endpoint")) for c in raw.get("candidates", [])
            ),
            affected_services=frozenset(raw.get("affected_services", [])),
            opened_at=parse_time(raw["opened_at"]),
            updated_at=parse_time(raw["updated_at"]),
            last_anomaly_at=parse_time(raw.get("last_anomaly_at", raw["opened_at"])),
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
    incidents: list[dict[str, Any]]  # those of the run, oldest first


def parse_time(value: Any) -> datetime:
    """An ISO 8601 timestamp as the analyzer writes it; naive ones are UTC."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def score(
    expected: Sequence[RootCause],
    incidents: Iterable[Mapping[str, Any]],
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
    raws = sorted(incidents, key=lambda raw: parse_time(raw["opened_at"]))
    run = [(raw, IncidentView.of(raw)) for raw in raws]
    run = [(raw, view) for raw, view in run if view.changed_since(started_at)]
    views = [view for _, view in run]
    kept = [dict(raw) for raw, _ in run]
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
    expected: Sequence[RootCause], incidents: Iterable[Mapping[str, Any]], *, since: datetime
) -> bool:
    """Every expected cause is the root cause of an incident changed since `since`."""
    views = [IncidentView.of(raw) for raw in incidents]
    fresh = [v for v in views if v.changed_since(since)]
    return bool(expected) and all(any(v.names(c) for v in fresh) for c in expected)


def note_sightings(
    first_seen: Mapping[str, datetime],
    incidents: Iterable[Mapping[str, Any]],
    *,
    since: datetime,
    now: datetime,
) -> dict[str, datetime]:
    """`first_seen` plus, at `now`, every open incident changed since `since` not seen before."""
    noted = dict(first_seen)
    for raw in incidents:
        view = IncidentView.of(raw)
        if view.status == "open" and view.changed_since(since) and view.id not in noted:
            noted[view.id] = now
    return noted


def merge_incidents(*batches: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One entry per id, the latest version of it (by `updated_at`, then `version`)."""
    latest: dict[str, Mapping[str, Any]] = {}
    for batch in batches:
        for raw in batch:
            known = latest.get(str(raw["id"]))
            if known is None or _version(raw) >= _version(known):
                latest[str(raw["id"])] = raw
    return [dict(raw) for raw in latest.values()]


def missing_baselines(
    baselines: Iterable[Mapping[str, Any]], required: Iterable[tuple[str, str]] = REQUIRED_BASELINES
) -> list[str]:
    """The required endpoint baselines not established yet, as "payment /payment"."""
    ready = {
        (b.get("service"), b.get("target"))
        for b in baselines
        if b.get("kind") == "endpoint"
        and b.get("established", int(b.get("windows", 0)) >= MIN_WINDOWS)
    }
    return [f"{service} {target}" for service, target in required if (service, target) not in ready]


def passed(result: ScenarioResult) -> bool:
    """A fault scenario passes when detected, blamed right and nothing else was blamed; a
    control when no incident opened."""
    if not result.expected_root_cause:
        return not result.detected and result.false_positives == 0
    return result.detected and result.rca_top1_correct is True and result.false_positives == 0


def summary_line(result: ScenarioResult) -> str:
    """One line: the verdict and the figures behind it."""
    verdict = "PASS" if passed(result) else "FAIL"
    ttd = "—" if result.time_to_detect_s is None else f"{result.time_to_detect_s:.1f} s"
    return (
        f"{verdict} {result.name}: detected {'yes' if result.detected else 'no'}, "
        f"time to detect {ttd}, top-1 {_yes_no(result.rca_top1_correct)}, "
        f"top-3 {_yes_no(result.rca_top3_correct)}, false positives {result.false_positives}, "
        f"false negatives {result.false_negatives}, incidents {len(result.incidents)}"
    )


def verdict_notes(
    expect_within_s: float, has_faults: bool, ttd: float | None, incidents: Sequence[Any]
) -> list[str]:
    """Notes for the report: a detection beyond the target, or no incident at all."""
    if ttd is not None and ttd > expect_within_s:
        return [f"detected after {ttd:.1f} s, beyond the scenario's {expect_within_s:g} s target"]
    if has_faults and not incidents:
        return ["the analyzer opened no incident during the run"]
    return []


def describe_incident(raw: Mapping[str, Any]) -> str:
    """An incident in a few readable lines: cause, confidence, why, candidates, anomalies."""
    view = IncidentView.of(raw)
    confidence = raw.get("confidence")
    conf = f"{confidence:.0%}" if isinstance(confidence, int | float) else "?"
    reopened = raw.get("reopen_count") or 0
    lines = [
        f"{view.id} [{view.status}, {raw.get('severity', '?')}"
        + (f", reopened {reopened} times" if reopened else "")
        + f"] root cause {view.root_cause} (confidence {conf})",
        f"  {raw.get('title', '')}".rstrip(),
        f"  why: {raw.get('explanation', '')}",
    ]
    for rank, candidate in enumerate(raw.get("candidates", [])[:TOP_K], start=1):
        cause = RootCause(candidate["service"], candidate.get("endpoint"))
        share = candidate.get("score")
        pct = f"{share:.0%}" if isinstance(share, int | float) else "?"
        lines.append(f"  candidate {rank}: {cause} {pct} — {candidate.get('evidence', '')}")
    for anomaly in raw.get("anomalies", []):
        lines.append(f"  anomaly: {anomaly.get('explanation', anomaly)}")
    return "\n".join(line for line in lines if line.strip())


def _seen_at(view: IncidentView, reference: datetime, seen: Mapping[str, datetime]) -> datetime:
    polled = seen.get(view.id)
    if polled is not None and polled >= reference:
        return polled
    return view.opened_at if view.opened_at >= reference else view.last_anomaly_at


def _version(raw: Mapping[str, Any]) -> tuple[datetime, int]:
    return parse_time(raw["updated_at"]), int(raw.get("version", 0))


def _yes_no(value: bool | None) -> str:
    return "—" if value is None else ("yes" if value else "no")
