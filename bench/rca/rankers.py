"""Two reference rankers, on the engine's own detections, for comparison.

Both look only at what every judged window gives (`WindowResult.windows`
and `.anomalies`) and rank services over the *anomalous* windows of a
fault's window; which windows are anomalous is the engine's call, so
detection is shared and only the ranking differs.

- **latency growth**: each key's window p50 over its own learned level (an
  EWMA over windows no anomaly names), and its error rate over its usual
  one; a service scores its largest growth. Both are ratios with a small
  additive floor, so a zero latency or a zero usual error rate still gives
  a finite number, and the two compare on one scale.
- **PageRank**, as MicroRank ranks: personalized PageRank over the
  dependency graph, walking from callers to callees (trouble is passed
  upwards, so the walk goes down to where it starts), personalized by the
  anomaly scores of each service in those windows.

An endpoint key is about its service; an edge key (caller → callee) about
its callee, as the edge's latency and failures are what the callee gave.
The functions are pure; `Observer` only keeps what they need between windows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from aiops_engine.detection import Anomaly, KeyKind, SeriesKey, WindowStats

ALPHA = 0.1  # weight of the newest window in a level, as the engine's baselines use
MIN_SAMPLES = 5  # requests a window needs to be learned or judged, as the engine's default
LATENCY_FLOOR_MS = 1.0  # added to both sides of the latency ratio: zero latencies stay finite
ERROR_FLOOR = 0.05  # added to both sides of the error ratio: 1% -> 20% is x4.2, not x20
DAMPING = 0.85  # PageRank's usual damping factor


@dataclass(frozen=True, slots=True)
class Level:
    """A key's usual window p50 and error rate, learned by the ranker itself."""

    p50_ms: float
    error_rate: float


def blamed(key: SeriesKey) -> str:
    """The service a key's trouble is about: an endpoint's own, an edge's callee."""
    return key.target if key.kind is KeyKind.EDGE else key.service


def learn_levels(
    levels: Mapping[SeriesKey, Level],
    windows: Iterable[WindowStats],
    anomalies: Iterable[Anomaly],
    *,
    alpha: float = ALPHA,
) -> dict[SeriesKey, Level]:
    """`levels` with every window no anomaly names (and with enough requests) learned."""
    named = {a.key for a in anomalies}
    learned = dict(levels)
    for window in windows:
        if window.key in named or window.count < MIN_SAMPLES:
            continue
        old = learned.get(window.key)
        learned[window.key] = (
            Level(window.p50_ms, window.error_rate)
            if old is None
            else Level(
                (1 - alpha) * old.p50_ms + alpha * window.p50_ms,
                (1 - alpha) * old.error_rate + alpha * window.error_rate,
            )
        )
    return learned


def growth(window: WindowStats, level: Level | None) -> float:
    """How far the window is above its key's level: the larger of the two ratios (>= 0)."""
    if window.count < MIN_SAMPLES:
        return 1.0
    usual_errors = level.error_rate if level is not None else 0.0
    errors = (window.error_rate + ERROR_FLOOR) / (usual_errors + ERROR_FLOOR)
    if level is None:  # a key never seen healthy: no latency to compare with
        return errors
    latency = (window.p50_ms + LATENCY_FLOOR_MS) / (level.p50_ms + LATENCY_FLOOR_MS)
    return max(latency, errors)


def window_growth(
    windows: Iterable[WindowStats], levels: Mapping[SeriesKey, Level]
) -> dict[str, float]:
    """Each blamed service's largest growth among the window's keys."""
    scores: dict[str, float] = {}
    for window in windows:
        service = blamed(window.key)
        scores[service] = max(scores.get(service, 0.0), growth(window, levels.get(window.key)))
    return scores


def anomaly_weights(anomalies: Iterable[Anomaly]) -> dict[str, float]:
    """Each blamed service's summed anomaly scores: PageRank's personalization."""
    weights: dict[str, float] = {}
    for anomaly in anomalies:
        service = blamed(anomaly.key)
        weights[service] = weights.get(service, 0.0) + max(0.0, anomaly.score)
    return weights


def ranking(scores: Mapping[str, float]) -> list[str]:
    """Services by score, highest first; ties by name, so a ranking is deterministic."""
    return sorted(scores, key=lambda name: (-scores[name], name))


def pagerank(
    edges: Iterable[tuple[str, str]],
    personal: Mapping[str, float],
    *,
    damping: float = DAMPING,
    tolerance: float = 1e-12,
    max_rounds: int = 500,
) -> dict[str, float]:
    """Personalized PageRank, walking caller -> callee; the scores add up to 1.

    A service that calls nobody (the end of every walk) hands its score back
    by the personalization, as a teleport would; with no weight anywhere the
    personalization is uniform.
    """
    callees: dict[str, list[str]] = {}
    nodes: set[str] = set(personal)
    for caller, callee in edges:
        nodes |= {caller, callee}
        if caller != callee:
            callees.setdefault(caller, []).append(callee)
    if not nodes:
        return {}
    order = sorted(nodes)
    total = sum(max(0.0, personal.get(n, 0.0)) for n in order)
    teleport = {
        n: max(0.0, personal.get(n, 0.0)) / total if total > 0 else 1 / len(order) for n in order
    }
    score = dict(teleport)
    for _ in range(max_rounds):
        dangling = sum(score[n] for n in order if n not in callees)
        step = {n: (1 - damping + damping * dangling) * teleport[n] for n in order}
        for caller, targets in callees.items():
            share = damping * score[caller] / len(targets)
            for callee in targets:
                step[callee] += share
        change = sum(abs(step[n] - score[n]) for n in order)
        score = step
        if change < tolerance:
            break
    norm = sum(score.values())
    return {n: s / norm for n, s in score.items()}


@dataclass(frozen=True, slots=True)
class Seen:
    """One anomalous window, as the rankers need it."""

    at: datetime  # when the analyzer would have judged it (WindowResult.now)
    growth: Mapping[str, float]
    weights: Mapping[str, float]


@dataclass
class Observer:
    """Fed every judged window in order; ranks over the anomalous ones of an interval."""

    levels: dict[SeriesKey, Level] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def observe(
        self, at: datetime, windows: Sequence[WindowStats], anomalies: Sequence[Anomaly]
    ) -> None:
        if anomalies:  # judged against the levels from before this window, as the engine does
            growths = window_growth(windows, self.levels)
            self.seen.append(Seen(at, growths, anomaly_weights(anomalies)))
        self.levels = learn_levels(self.levels, windows, anomalies)

    def _within(self, start: datetime, end: datetime) -> list[Seen]:
        return [s for s in self.seen if start <= s.at <= end]

    def by_growth(self, start: datetime, end: datetime) -> list[str]:
        scores: dict[str, float] = {}
        for seen in self._within(start, end):
            for service, value in seen.growth.items():
                scores[service] = max(scores.get(service, 0.0), value)
        return ranking(scores)

    def by_pagerank(
        self, start: datetime, end: datetime, edges: Iterable[tuple[str, str]]
    ) -> list[str]:
        within = self._within(start, end)
        if not within:
            return []
        weights: dict[str, float] = {}
        for seen in within:
            for service, value in seen.weights.items():
                weights[service] = weights.get(service, 0.0) + value
        return ranking(pagerank(edges, weights))
