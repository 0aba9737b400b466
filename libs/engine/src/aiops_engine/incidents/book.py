"""Findings into incidents without Redis: the desk's order of rules, over a plain list.

The analyzer's desk (services/analyzer/analyzer/incidents/desk.py) applies
each finding with `match`, then `absorb` or `open_incident`, then
`auto_resolve` on every incident, writing each step to Redis. Replay has no
Redis, so this module runs the same pure rules in the same order over a
list, newest first as the store lists them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiops_engine.rca import DependencyGraph, Finding

from .lifecycle import IncidentPolicy, absorb, auto_resolve, changes, match, open_incident
from .model import Incident, IncidentEvent, Status


@dataclass(frozen=True, slots=True)
class Touch:
    """One incident version a finding produced: opened, reopened or absorbed into."""

    at: datetime
    incident: Incident
    opened: bool  # a new incident or a reopened one: what pages someone


def apply_findings(
    incidents: list[Incident],
    findings: Iterable[Finding],
    *,
    now: datetime,
    graph: DependencyGraph,
    policy: IncidentPolicy,
    new_id: Callable[[datetime], str],
) -> tuple[list[IncidentEvent], list[Touch]]:
    """Fold `findings` into `incidents` (changed in place), then resolve the quiet ones.

    Returns the history events, as the desk would have written them, and
    every version a finding produced (`absorb` can change an incident
    without any event: the scorecard needs those too).
    """
    events: list[IncidentEvent] = []
    touches: list[Touch] = []
    for finding in findings:
        target = match(incidents, finding, policy=policy, graph=graph)
        if target is None:
            incident = open_incident(finding, incident_id=new_id(now), now=now, policy=policy)
            incidents.insert(0, incident)
            events += changes(None, incident, now=now)
            touches.append(Touch(now, incident, opened=True))
            continue
        after = absorb(target, finding, now=now, policy=policy)
        incidents[incidents.index(target)] = after
        events += changes(target, after, now=now)
        touches.append(Touch(now, after, opened=target.status is Status.RESOLVED))
    for position, incident in enumerate(incidents):
        after = auto_resolve(incident, now=now, policy=policy)
        if after != incident:
            incidents[position] = after
            events += changes(incident, after, now=now)
    return events, touches


def forget_settled(incidents: list[Incident], *, now: datetime, policy: IncidentPolicy) -> None:
    """Drop incidents no finding can match any more (resolved longer than the window ago).

    `match` never picks them, so dropping them changes nothing but memory. It
    judges by the finding's window end, a little before `now`: hence twice the window.
    """
    window = timedelta(seconds=2 * policy.correlation_window_s)
    incidents[:] = [
        i
        for i in incidents
        if i.status is not Status.RESOLVED or i.resolved_at is None or now - i.resolved_at <= window
    ]
