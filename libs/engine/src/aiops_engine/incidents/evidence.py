"""What an incident says about its evidence: severity, title, merged anomalies, candidates.

Pure functions over the incident model; `lifecycle` applies them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from aiops_engine.detection import AnomalyType
from aiops_engine.rca import Finding

from .model import AnomalyEvidence, RankedCandidate, RootCause, Severity

_FAILING = (AnomalyType.ERROR_SPIKE, AnomalyType.TIMEOUT)
_WORDS = {
    AnomalyType.ERROR_SPIKE: "failing",
    AnomalyType.TIMEOUT: "timing out",
    AnomalyType.LATENCY: "slow",
    AnomalyType.SILENCE: "silent",
    AnomalyType.METRIC: "off its usual level",
}


def severity_of(anomalies: Iterable[AnomalyEvidence]) -> Severity:
    """Critical when most requests fail or a service falls silent; high on errors or 5x latency."""
    severity = Severity.LOW
    for anomaly in anomalies:
        kind = AnomalyType(anomaly.type)
        if kind is AnomalyType.SILENCE or (kind in _FAILING and anomaly.observed >= 0.5):
            return Severity.CRITICAL
        if kind in _FAILING or (
            kind is AnomalyType.LATENCY
            and anomaly.baseline
            and anomaly.observed >= 5 * anomaly.baseline
        ):
            level = Severity.HIGH
        else:
            level = Severity.MEDIUM
        severity = max(severity, level, key=lambda s: s.rank)
    return severity


def title_of(root: RootCause, anomalies: Sequence[AnomalyEvidence]) -> str:
    """E.g. "payment /payment failing and slow; affects checkout"."""
    own = [a for a in anomalies if root.service in (a.service, a.target)]
    words = sorted({_WORDS[AnomalyType(a.type)] for a in own or anomalies})
    others = sorted({a.service for a in anomalies} - {root.service})
    affects = f"; affects {', '.join(others)}" if others else ""
    return f"{root} {' and '.join(words)}{affects}"


def ranked_candidates(finding: Finding) -> list[RankedCandidate]:
    return [
        RankedCandidate(
            service=c.suspect.service,
            endpoint=c.suspect.endpoint,
            score=c.score,
            traces=c.traces,
            evidence=c.evidence,
        )
        for c in finding.candidates
    ]


def merge_evidence(
    old: Sequence[AnomalyEvidence], finding: Finding, *, limit: int
) -> list[AnomalyEvidence]:
    """The latest anomaly per series and type, newest first."""
    latest: dict[tuple[str, str], AnomalyEvidence] = {}
    for item in [*old, *(AnomalyEvidence.of(a) for a in finding.anomalies)]:
        slot = (item.key, item.type)
        if slot not in latest or item.window_end >= latest[slot].window_end:
            latest[slot] = item
    ordered = sorted(latest.values(), key=lambda a: (a.window_end, a.score), reverse=True)
    return ordered[:limit]


def first_unique(values: Iterable[str], limit: int) -> list[str]:
    return list(dict.fromkeys(values))[:limit]
