"""Replay's incidents against known faults: detection, time to detect, root-cause rank.

Definitions (docs/replay.md says the same for users):

- A fault's *window* is [start, end + grace]. An incident *speaks* in it
  when a finding opened, reopened or was absorbed into it at a moment in
  the window (the simulated time the live analyzer would have said so).
- *detected*: some incident spoke in the window; time to detect is the
  first such moment minus the fault's start (never below 0).
- *rank*: each incident that spoke, in its latest version in the window,
  ranks services: the root cause's, then its candidates', each once. A
  fault's rank is the best rank of its service among them; AC@k is the
  share of all faults (undetected ones count as misses) ranked within k,
  Avg@5 the mean of AC@1..AC@5. Service level: a fault is about a service;
  an endpoint named in the truth file is reported but not required.
- *false incidents*: incidents opened or reopened at a moment outside
  every fault's window.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiops_engine.incidents import Incident
from aiops_engine.incidents.book import Touch

TOP = 5


@dataclass(frozen=True, slots=True)
class Fault:
    start: datetime
    end: datetime
    service: str
    endpoint: str | None = None
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class FaultScore:
    fault: Fault
    detected_at: datetime | None
    ttd_s: float | None
    rank: int | None  # 1-based rank of the fault's service; None when no incident ranks it
    incident_ids: tuple[str, ...]  # incidents that spoke in the fault's window


@dataclass(frozen=True, slots=True)
class Scorecard:
    faults: int
    detected: int
    ac_at_1: float
    ac_at_3: float
    avg_at_5: float
    ttd_median_s: float | None
    false_incidents: int
    false_incidents_per_hour: float | None  # None for a recording shorter than a second
    grace_s: float
    per_fault: tuple[FaultScore, ...]


def service_ranking(incident: Incident) -> list[str]:
    """Services in the order the incident blames them: root cause, then candidates."""
    names = [incident.root_cause.service, *(c.service for c in incident.candidates)]
    return list(dict.fromkeys(names))


def score(
    faults: Sequence[Fault], touches: Iterable[Touch], *, duration_s: float, grace_s: float = 60.0
) -> Scorecard:
    grace = timedelta(seconds=grace_s)
    spoken = sorted(touches, key=lambda t: t.at)
    per_fault = tuple(_score_fault(f, spoken, grace) for f in faults)
    windows = [(f.start, f.end + grace) for f in faults]
    false = sum(
        1 for t in spoken if t.opened and not any(start <= t.at <= end for start, end in windows)
    )
    count = len(faults)

    def ac(k: int) -> float:
        hits = sum(1 for s in per_fault if s.rank is not None and s.rank <= k)
        return hits / count if count else 0.0

    delays = [s.ttd_s for s in per_fault if s.ttd_s is not None]
    return Scorecard(
        faults=count,
        detected=sum(1 for s in per_fault if s.detected_at is not None),
        ac_at_1=ac(1),
        ac_at_3=ac(3),
        avg_at_5=sum(ac(k) for k in range(1, TOP + 1)) / TOP,
        ttd_median_s=statistics.median(delays) if delays else None,
        false_incidents=false,
        false_incidents_per_hour=false / (duration_s / 3600) if duration_s >= 1 else None,
        grace_s=grace_s,
        per_fault=per_fault,
    )


def _score_fault(fault: Fault, spoken: Sequence[Touch], grace: timedelta) -> FaultScore:
    inside = [t for t in spoken if fault.start <= t.at <= fault.end + grace]
    latest: dict[str, Incident] = {}
    for touch in inside:  # in time order: the last version wins
        latest[touch.incident.id] = touch.incident
    ranks = [
        ranking.index(fault.service) + 1
        for incident in latest.values()
        if fault.service in (ranking := service_ranking(incident))
    ]
    detected_at = inside[0].at if inside else None
    return FaultScore(
        fault=fault,
        detected_at=detected_at,
        ttd_s=max(0.0, (detected_at - fault.start).total_seconds()) if detected_at else None,
        rank=min(ranks) if ranks else None,
        incident_ids=tuple(latest),
    )
