"""Anomaly detection on any metric stream: pure functions over one series' points.

`judge(state, series, at, value, config, direction)` gives each point a
verdict (expected value, band, graded score, anomalous or not) and the
series' state after it. One family for every series — latency, error
rate, throughput, business and custom metrics: scale-free and zero-safe
(thresholds from the series' own noise), one- or two-sided by
`Direction`, seasonal once days of history are known (`season`), and a
level that holds for `new_normal_after` is adopted as the new normal.
"""

from .adoption import accept_new_normal
from .config import MetricConfig
from .explained import explain
from .judge import judge
from .model import (
    Adoption,
    Direction,
    Fit,
    Judgement,
    MetricKind,
    MetricState,
    Run,
    ValueHour,
    ValueSeason,
    direction_of,
)
from .scorecard import (
    FALSE_ALARM_COST,
    LEAD_S,
    StreamScore,
    Tally,
    Window,
    WindowResult,
    score_stream,
)
from .season import restored as restored_season
from .watch import MetricPoint, Watched, as_anomaly, default_direction, watch

__all__ = [
    "FALSE_ALARM_COST",
    "LEAD_S",
    "Adoption",
    "Direction",
    "Fit",
    "Judgement",
    "MetricConfig",
    "MetricKind",
    "MetricPoint",
    "MetricState",
    "Run",
    "StreamScore",
    "Tally",
    "ValueHour",
    "ValueSeason",
    "Watched",
    "Window",
    "WindowResult",
    "accept_new_normal",
    "as_anomaly",
    "default_direction",
    "direction_of",
    "explain",
    "judge",
    "restored_season",
    "score_stream",
    "watch",
]
