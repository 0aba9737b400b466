"""`evaluation.json`: the scored scenarios as a document of JSON types only, so that
`json.dumps` takes it as is."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypedDict

from aiops_api.analyzer import Incident

from .results import RootCause, ScenarioResult
from .summary import Summary, rounded, summarize


class Cause(TypedDict):
    service: str
    endpoint: str | None


class IncidentSummary(TypedDict):
    id: str
    root_cause: Cause
    confidence: float


class ScenarioJson(TypedDict):
    name: str
    description: str
    fault: str
    expected_root_cause: list[Cause]
    detected: bool
    detected_at: str | None
    time_to_detect_s: float | None
    rca_top1_correct: bool | None
    rca_top3_correct: bool | None
    false_positives: int
    false_negatives: int
    expected_business_metric: str | None  # a series the root cause's incident must hold
    business_metric_linked: bool | None  # ... and whether it did (None: none expected)
    incidents: list[IncidentSummary]
    notes: list[str]


class AnalyzerAtStart(TypedDict):
    """The analyzer's own account of itself as the evaluation began (its /health)."""

    status: str
    role: str
    cycles: int
    baselines: int | None


class StackInfo(TypedDict, total=False):
    """Where the evaluation ran; `analyzer`, or why it could not be asked."""

    urls: dict[str, str]
    compose_project: str | None
    analyzer: AnalyzerAtStart
    analyzer_health_error: str


class Evaluation(TypedDict):
    started_at: str
    finished_at: str
    duration_s: float | None
    stack: StackInfo
    scenarios: list[ScenarioJson]
    summary: Summary


def evaluation_json(
    results: Sequence[ScenarioResult],
    *,
    started_at: datetime,
    finished_at: datetime,
    stack_info: StackInfo,
) -> Evaluation:
    """The machine-readable report; only JSON types, so `json.dumps` takes it as is."""
    return {
        "started_at": started_at.isoformat(),
        "finished_at": finished_at.isoformat(),
        "duration_s": rounded((finished_at - started_at).total_seconds()),
        "stack": stack_info,
        "scenarios": [_scenario_json(r) for r in results],
        "summary": summarize(results),
    }


def _scenario_json(r: ScenarioResult) -> ScenarioJson:
    return {
        "name": r.name,
        "description": r.description,
        "fault": r.fault,
        "expected_root_cause": [_cause_json(c) for c in r.expected_root_cause],
        "detected": r.detected,
        "detected_at": r.detected_at.isoformat() if r.detected_at else None,
        "time_to_detect_s": rounded(r.time_to_detect_s),
        "rca_top1_correct": r.rca_top1_correct,
        "rca_top3_correct": r.rca_top3_correct,
        "false_positives": r.false_positives,
        "false_negatives": r.false_negatives,
        "expected_business_metric": r.expected_business_metric,
        "business_metric_linked": r.business_metric_linked,
        "incidents": [
            {"id": i.id, "root_cause": _incident_cause(i), "confidence": i.confidence}
            for i in r.incidents
        ],
        "notes": list(r.notes),
    }


def _incident_cause(incident: Incident) -> Cause:
    return {"service": incident.root_cause.service, "endpoint": incident.root_cause.endpoint}


def _cause_json(cause: RootCause) -> Cause:
    return {"service": cause.service, "endpoint": cause.endpoint}
