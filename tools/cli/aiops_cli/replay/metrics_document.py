"""The metric replay report's JSON: what `aiops replay --metrics --json` prints and `--report`
writes, and the conversions into it from the run and the scorecard (`metrics_score`)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import NotRequired, TypedDict

from aiops_engine.metrics import MetricConfig, Tally

from .metrics_run import Alarm, NewNormal, Track
from .metrics_score import SeriesScore, median_delay
from .report import iso


class AlarmJson(TypedDict):
    series: str
    service: str
    started_at: str
    ended_at: str
    points: int
    score: float
    explanation: str
    open: bool


class NewNormalJson(TypedDict):
    series: str
    at: str
    since: str
    explanation: str


class WindowJson(TypedDict):
    start: str
    end: str
    kind: str | None
    detected_at: str | None
    delay_s: float | None  # from the window's start to the alarm that detected it
    earned: float
    alarm_on_after: bool  # an alarm still on after the window's end


class TallyJson(TypedDict):
    windows: int
    detected: int
    earned: float
    alarms: int
    false_alarms: int
    score: float | None  # normalised: 0 never alarming, 100 every window at its start
    precision: float | None
    recall: float | None


class SeriesJson(TallyJson):
    series: str
    recorded: bool
    per_window: list[WindowJson]


class MetricScorecardJson(TallyJson):
    series_scored: int
    delay_median_s: float | None
    per_series: list[SeriesJson]


class SeriesSeenJson(TypedDict):
    series: str
    service: str
    direction: str
    points: int
    first_at: str | None
    last_at: str | None
    alarms: int
    new_normals: int


class MetricsReport(TypedDict):
    """What `aiops replay --metrics --json` prints and `--report` writes."""

    source: str
    format: str
    points: int
    judged: int
    rejected: int  # rows that are not points
    rejections: list[str]
    refused: dict[str, int]  # points the engine refused, by its reason
    skipped: dict[str, str]
    started_at: str | None
    ended_at: str | None
    duration_s: float
    wall_s: float
    points_per_s: int | None
    settings: dict[str, object]
    series: list[SeriesSeenJson]
    alarms: list[AlarmJson]
    new_normals: list[NewNormalJson]
    notes: list[str]
    scorecard: NotRequired[MetricScorecardJson]


def settings_json(config: MetricConfig) -> dict[str, object]:
    """Every MetricConfig field, durations in seconds (`new_normal_after_s`): what the report
    was made with, so it can be made again."""
    found: dict[str, object] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if isinstance(value, timedelta):
            found[f"{f.name}_s"] = value.total_seconds()
        else:
            found[f.name] = value
    return found


def alarm_json(a: Alarm) -> AlarmJson:
    return {
        "series": a.series, "service": a.service, "started_at": a.started_at.isoformat(),
        "ended_at": a.ended_at.isoformat(), "points": a.points, "score": round(a.score, 6),
        "explanation": a.explanation, "open": a.open,
    }  # fmt: skip


def new_normal_json(n: NewNormal) -> NewNormalJson:
    return {"series": n.series, "at": n.at.isoformat(), "since": n.since.isoformat(),
            "explanation": n.explanation}  # fmt: skip


def _tally(t: Tally) -> TallyJson:
    return {
        "windows": t.windows, "detected": t.detected, "earned": round(t.earned, 4),
        "alarms": t.onsets, "false_alarms": t.false_alarms,
        "score": None if t.normalised is None else round(t.normalised, 2),
        "precision": None if t.precision is None else round(t.precision, 4),
        "recall": None if t.recall is None else round(t.recall, 4),
    }  # fmt: skip


def _series(s: SeriesScore) -> SeriesJson:
    windows: list[WindowJson] = []
    for fault, r in zip(s.faults, s.score.windows, strict=True):
        at = None if r.detected_at is None else s.origin + timedelta(seconds=r.detected_at)
        windows.append({
            "start": fault.start.isoformat(), "end": fault.end.isoformat(), "kind": fault.kind,
            "detected_at": iso(at),
            "delay_s": None if r.detected_at is None else r.detected_at - r.window.start,
            "earned": round(r.earned, 4), "alarm_on_after": r.on_after,
        })  # fmt: skip
    return {"series": s.series, "recorded": s.recorded, **_tally(s.tally),
            "per_window": windows}  # fmt: skip


def scorecard_json(scores: list[SeriesScore]) -> MetricScorecardJson:
    overall = Tally()
    for s in scores:
        overall += s.tally
    return {
        "series_scored": len(scores), **_tally(overall), "delay_median_s": median_delay(scores),
        "per_series": [_series(s) for s in scores],
    }  # fmt: skip


def series_seen_json(t: Track) -> SeriesSeenJson:
    return {
        "series": t.series, "service": t.service, "direction": t.direction.value,
        "points": t.points, "first_at": iso(t.first_at), "last_at": iso(t.last_at),
        "alarms": len(t.alarms), "new_normals": len(t.new_normals),
    }  # fmt: skip
