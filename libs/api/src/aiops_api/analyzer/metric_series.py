"""GET /metric-series, GET /metric-series/{series}/points, POST .../new-normal: the metric
series the analyzer watches, each point it judged, and a new normal asked for."""

from __future__ import annotations

from datetime import datetime

from pydantic import TypeAdapter

from aiops_api.common import ApiModel
from aiops_engine.metrics import Direction, Judgement


class MetricPointJudged(ApiModel):
    """One point of a series and its verdict: the value, what was expected and the band it is
    normal in (None while the series is still learning), how surprising it was (0..1)."""

    at: datetime
    value: float
    expected: float | None
    lower: float | None
    upper: float | None
    score: float
    anomalous: bool
    new_normal_since: datetime | None  # on the point a new level was adopted
    explanation: str

    @classmethod
    def of(cls, verdict: Judgement) -> MetricPointJudged:
        return cls(
            at=verdict.at, value=verdict.value, expected=verdict.expected, lower=verdict.lower,
            upper=verdict.upper, score=verdict.score, anomalous=verdict.anomalous,
            new_normal_since=verdict.new_normal_since, explanation=verdict.explanation,
        )  # fmt: skip


class MetricSeries(ApiModel):
    """A watched series with its last point; the point's fields are None (and `anomalous`
    false) until one is judged, or once its judgements are past retention."""

    series: str  # service:name[.kind]{attributes}, or checkout:conversion and the like
    service: str
    direction: Direction  # which way it alerts: up, down or both
    at: datetime | None
    value: float | None
    expected: float | None
    lower: float | None
    upper: float | None
    score: float | None
    anomalous: bool
    new_normal_since: datetime | None
    explanation: str | None


class NewNormalRequested(ApiModel):
    """A new normal asked for: the next analysis cycle adopts the series' current level."""

    series: str
    requested_at: datetime
    detail: str


METRIC_SERIES: TypeAdapter[list[MetricSeries]] = TypeAdapter(list[MetricSeries])
METRIC_POINTS: TypeAdapter[list[MetricPointJudged]] = TypeAdapter(list[MetricPointJudged])
