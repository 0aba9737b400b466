"""What `aiops metrics` prints: the watched series, one series' points with their band, and a
new normal asked for. Pure functions of the API's answers, as views.py is for the rest."""

from __future__ import annotations

from collections.abc import Sequence

from aiops_api.analyzer import MetricPointJudged, MetricSeries, NewNormalRequested

from .render import table, when

ALERTS = {"up": "when higher", "down": "when lower", "both": "either way"}


def number(value: float | None) -> str:
    """A few significant figures, whatever the series' scale (1e12 bytes or 0.97 of orders)."""
    return "-" if value is None else f"{value:.4g}"


def _band(lower: float | None, upper: float | None) -> str:
    return "-" if lower is None or upper is None else f"{number(lower)} .. {number(upper)}"


def _state(anomalous: bool, expected: float | None, new_normal: bool) -> str:
    if anomalous:
        return "ANOMALOUS"
    if new_normal:
        return "new normal"
    return "learning" if expected is None else "ok"


def metric_series(items: Sequence[MetricSeries]) -> str:
    """GET /metric-series: anomalous series first, then by name."""
    if not items:
        return "no metric series watched yet (they appear with their first point)"
    ordered = sorted(items, key=lambda s: (not s.anomalous, s.series))
    return table(
        ["SERIES", "SERVICE", "ALERTS", "LAST (UTC)", "VALUE", "EXPECTED", "NORMAL", "STATE"],
        (
            [
                s.series,
                s.service,
                ALERTS.get(s.direction, s.direction),
                when(s.at),
                number(s.value),
                number(s.expected),
                _band(s.lower, s.upper),
                _state(s.anomalous, s.expected, s.new_normal_since is not None)
                if s.at is not None
                else "no point yet",
            ]
            for s in ordered
        ),
    )


def metric_points(series: str, points: Sequence[MetricPointJudged]) -> str:
    """GET /metric-series/{series}/points: each point against its band, then why the last is
    what it is."""
    if not points:
        return f"{series}: no point judged in that time"
    rows = table(
        ["AT (UTC)", "VALUE", "EXPECTED", "LOWER", "UPPER", "SCORE", "STATE"],
        (
            [
                when(p.at),
                number(p.value),
                number(p.expected),
                number(p.lower),
                number(p.upper),
                f"{p.score:.3f}",
                _state(p.anomalous, p.expected, p.new_normal_since is not None),
            ]
            for p in points
        ),
    )
    anomalous = sum(p.anomalous for p in points)
    last = points[-1]
    return (
        f"{series}: {len(points)} points, {anomalous} anomalous\n\n{rows}\n\n"
        f"last: {last.explanation}"
    )


def new_normal(answer: NewNormalRequested) -> str:
    """POST /metric-series/{series}/new-normal."""
    return (
        f"{answer.series}: new normal requested at {when(answer.requested_at)} UTC; "
        "the next analysis cycle adopts its current level"
    )
