"""An incident whose metric series took a new normal is over: resolved, saying since when.

A level a metric series holds for `new_normal_after` (or one a user accepts) becomes its
normal (aiops_engine.metrics), and its points stop being anomalous. The incident they
opened has then nothing left to wait for: it resolves at once, naming the new normal,
rather than after `resolve_after_s` of quiet that reads as "it recovered". Only when
nothing else in it is still active, though: an incident whose other evidence (a failing
endpoint) still fires stays open, and resolves as usual once that stops.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from aiops_engine.detection import KeyKind

from .lifecycle import IncidentPolicy, auto_resolve, resolve
from .model import Incident, Status

NEW_NORMAL = "new_normal"  # `resolved_by` of an incident a new normal resolved


def settle(
    incident: Incident,
    *,
    now: datetime,
    policy: IncidentPolicy,
    new_normals: Mapping[str, datetime],
) -> Incident:
    """`incident` resolved by the new normals (series -> since when) of its metric series if
    nothing else in it is active; otherwise `auto_resolve`d as ever."""
    adopted = {
        a.target: new_normals[a.target]
        for a in incident.anomalies
        if a.kind == KeyKind.METRIC and a.target in new_normals
    }
    if incident.status is Status.RESOLVED or not adopted:
        return auto_resolve(incident, now=now, policy=policy)
    quiet_since = now - timedelta(seconds=policy.resolve_after_s)
    others = [a for a in incident.anomalies if a.kind != KeyKind.METRIC or a.target not in adopted]
    if any(a.window_end > quiet_since for a in others):
        return auto_resolve(incident, now=now, policy=policy)
    reason = "; ".join(
        f"{series}: new normal since {since.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        for series, since in sorted(adopted.items())
    )
    resolved = resolve(incident, now=now, by=NEW_NORMAL)
    return resolved.model_copy(update={"resolution": reason})
