"""Whether a fault's business impact reached the incident that explains it: pure functions.

A scenario can expect a business metric (`expect.business_metric`, e.g. `checkout:conversion`):
the analyzer judges it in the same cycle as the spans that explain it, so its anomaly should
sit in the incident naming the root cause, not open one of its own (an on-call engineer
paged twice, once for "conversion is down" and once for "inventory fails", looks in two
places for one problem). It is met when an incident that names an expected root cause holds
an anomaly on that series (kind `metric`, the series as its target) from a window that ended
at or after the fault.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from aiops_api.analyzer import Incident
from aiops_engine.incidents.model import AnomalyEvidence

from .results import RootCause

METRIC_KIND = "metric"  # the key kind of a metric series' anomaly (aiops_engine KeyKind.METRIC)


def metric_evidence(
    expected: Sequence[RootCause],
    series: str,
    incidents: Iterable[Incident],
    *,
    since: datetime,
) -> AnomalyEvidence | None:
    """The newest anomaly on `series` since `since` held by an incident that names one of the
    `expected` causes; None when there is none."""
    found = [
        anomaly
        for incident in incidents
        if any(c.matches(incident.root_cause.service, incident.root_cause.endpoint)
               for c in expected)
        for anomaly in incident.anomalies
        if anomaly.kind == METRIC_KIND and anomaly.target == series and anomaly.window_end >= since
    ]  # fmt: skip
    return max(found, key=lambda a: a.window_end, default=None)


def metric_linked(
    expected: Sequence[RootCause],
    series: str | None,
    incidents: Iterable[Incident],
    *,
    since: datetime,
) -> bool | None:
    """Whether the expected business-metric anomaly is in a root cause's incident; None when
    the scenario expects none."""
    if series is None:
        return None
    return metric_evidence(expected, series, incidents, since=since) is not None


def missed_note(series: str, expected: Sequence[RootCause]) -> str:
    """The report's note for a business-metric anomaly that was not linked."""
    causes = ", ".join(map(str, expected))
    return f"no incident naming {causes} holds a {series} anomaly (the business impact)"
