"""Many series at once, as the analyzer's cycle and `aiops replay --metrics` feed them: each
series' points judged in time order, the anomalous ones turned into the engine's anomalies
(so incidents and root-cause analysis take them like any other), and a series whose
judging fails skipped and named, never stopping the others."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from aiops_engine.detection.model import Anomaly, AnomalyType, KeyKind, SeriesKey

from .config import MetricConfig
from .judge import judge
from .model import Direction, Judgement, MetricState


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """One value of one series, at the end of the interval it describes."""

    series: str
    at: datetime
    value: float
    service: str = ""  # who the series belongs to (resource service.name), for root causes


@dataclass(frozen=True, slots=True)
class Watched:
    """A batch's outcome: the states after it, every verdict, the anomalies to report."""

    states: dict[str, MetricState]
    judgements: list[Judgement] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)  # reason -> points
    skipped: dict[str, str] = field(default_factory=dict)  # series -> why it was not judged


# Words in a series' name that say which way it goes wrong, checked in this order.
_UP = re.compile(r"latency|duration|time|error|fail|timeout|saturation|queue|lag|cpu|memory")
_DOWN = re.compile(r"conversion|revenue|success|availability|apdex")


@lru_cache(maxsize=65_536)  # asked for every series every cycle; a name's answer never changes
def default_direction(series: str) -> Direction:
    """Latencies, errors and saturation go wrong upwards, conversion and revenue downwards,
    anything else (a throughput, a custom gauge) either way."""
    name = series.lower()
    if _DOWN.search(name):
        return Direction.DOWN
    if _UP.search(name):
        return Direction.UP
    return Direction.BOTH


def watch(
    states: Mapping[str, MetricState],
    points: Iterable[MetricPoint],
    config: MetricConfig,
    direction: Callable[[str], Direction] = default_direction,
) -> Watched:
    """`points` judged series by series in time order; one anomaly per series at most (its
    highest-scored point), as a window of spans gives one per key."""
    by_series: defaultdict[str, list[MetricPoint]] = defaultdict(list)
    for point in points:
        by_series[point.series].append(point)
    after = dict(states)
    outcome = Watched(after)
    for series, own in sorted(by_series.items()):
        try:
            judged, state = _judged(after.get(series), series, own, config, direction(series))
        except Exception as exc:  # one series must not silence the others: named, counted
            outcome.skipped[series] = f"{type(exc).__name__}: {exc}"
            continue
        if state is not None:
            after[series] = state
        outcome.judgements.extend(judged)
        outcome.refused.update(j.refused for j in judged if j.refused)
        worst = max((j for j in judged if j.anomalous), key=lambda j: j.score, default=None)
        if worst is not None:
            outcome.anomalies.append(as_anomaly(worst, own[0].service))
    return outcome


def _judged(
    state: MetricState | None,
    series: str,
    points: list[MetricPoint],
    config: MetricConfig,
    direction: Direction,
) -> tuple[list[Judgement], MetricState | None]:
    verdicts = []
    for point in sorted(points, key=lambda p: p.at):
        state, verdict = judge(state, series, point.at, point.value, config, direction)
        verdicts.append(verdict)
    return verdicts, state


def as_anomaly(verdict: Judgement, service: str) -> Anomaly:
    """An anomalous verdict as the engine reports anomalies: observed against expected, the
    band's edge it crossed as the threshold."""
    expected = verdict.expected if verdict.expected is not None else verdict.value
    above = verdict.value > expected
    edge = verdict.upper if above else verdict.lower
    return Anomaly(
        type=AnomalyType.METRIC,
        key=SeriesKey(KeyKind.METRIC, service or "unknown_service", verdict.series),
        observed=verdict.value,
        baseline=verdict.expected,
        threshold=edge if edge is not None else expected,
        window_start=verdict.at,
        window_end=verdict.at,
        sample_count=1,
        score=verdict.score,
        sample_trace_ids=(),
        explanation=verdict.explanation,
    )
