"""The replay report's JSON: what `aiops replay --json` prints and `--report` writes."""

from __future__ import annotations

from typing import NotRequired, TypedDict

from aiops_engine.incidents import Incident

from .options import Settings

__all__ = ["AnomalyJson", "FaultJson", "ReplayReport", "ScorecardJson", "report_json"]


class AnomalyJson(TypedDict):
    type: str
    kind: str
    service: str
    target: str
    observed: float
    baseline: float | None
    threshold: float
    score: float
    window_start: str | None
    window_end: str | None
    sample_count: int
    sample_trace_ids: list[str]
    explanation: str


class FaultJson(TypedDict):
    start: str
    end: str
    service: str
    endpoint: str | None
    kind: str | None
    detected_at: str | None
    ttd_s: float | None
    rank: int | None
    incidents: list[str]


class ScorecardJson(TypedDict):
    faults: int
    detected: int
    ac_at_1: float
    ac_at_3: float
    avg_at_5: float
    ttd_median_s: float | None
    false_incidents: int
    false_incidents_per_hour: float | None
    grace_s: float
    per_fault: list[FaultJson]


class ReplayReport(TypedDict):
    """The report: `--json` prints it, `--report` writes it (incidents as the API's JSON)."""

    source: str
    format: str
    spans: int
    rejected: int
    rejected_lines: int
    rejections: list[str]
    late_spans: int
    unjudged_spans: int
    keys_skipped: int
    started_at: str | None
    ended_at: str | None
    duration_s: float
    wall_s: float
    spans_per_s: int | None
    windows: int
    settings: Settings
    anomalies: list[AnomalyJson]
    incidents: list[Incident]
    scorecard: NotRequired[ScorecardJson]


def report_json(report: ReplayReport) -> object:
    """The report as JSON types only (what `json.dumps` takes): incidents as the API has them."""
    return {**report, "incidents": [i.model_dump(mode="json") for i in report["incidents"]]}
