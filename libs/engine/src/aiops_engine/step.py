"""One analysis window, as the live analyzer and replay both run it.

The live cycle (services/analyzer/analyzer/cycle.py) reads a window from
PostgreSQL, `aiops replay` builds it in memory; both then call these two
functions, around fetching the sample traces, so they cannot drift:

    judged  = judge_window(windows, baselines, config, now=end)
    traces  = <spans of traces_to_follow(judged.anomalies)>
    outcome = conclude_window(...)

One key whose evaluation fails (a malformed record, a bug) is skipped and
named, with its reason, in `skipped`; every other key is still judged and
learned. Series are independent, so judging them one by one gives the same
result as judging them together: that slower path runs only after a failure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from .detection import (
    Anomaly,
    Baseline,
    DetectionConfig,
    SeriesKey,
    WindowStats,
    detect,
    learn,
    span_thresholds,
    typical_latencies,
)
from .rca import Dependency, DependencyGraph, Finding, RcaConfig, Span, analyse

# Sample traces kept per key and window: what RCA follows, worst first.
SAMPLE_TRACES = 5


Skipped = dict[SeriesKey, str]  # key -> why it could not be judged ("Type: message")


@dataclass(frozen=True, slots=True)
class Judgement:
    """A window's anomalies, and the keys that could not be judged."""

    anomalies: list[Anomaly]
    skipped: Skipped


@dataclass(frozen=True, slots=True)
class WindowOutcome:
    """What one window found, and the state the next window starts from."""

    findings: tuple[Finding, ...]
    baselines: dict[SeriesKey, Baseline]  # every window no anomaly names, learned
    graph: DependencyGraph  # the known graph with this window's edges added
    skipped: Skipped  # keys whose window could not be learned (their baseline is kept)


def judge_window(
    windows: Sequence[WindowStats],
    baselines: Mapping[SeriesKey, Baseline],
    config: DetectionConfig,
    *,
    now: datetime,
) -> Judgement:
    """`detect` over the window; a key it fails on is skipped and the others judged."""
    try:
        return Judgement(detect(windows, baselines, config, now=now), {})
    except Exception:  # one key must not silence every other: find it, key by key
        pass
    anomalies: list[Anomaly] = []
    skipped: Skipped = {}
    for key, own, baseline in _by_key(windows, baselines):
        try:
            anomalies += detect(own, baseline, config, now=now)
        except Exception as exc:  # named in `skipped`; the caller logs and counts it
            skipped[key] = f"{type(exc).__name__}: {exc}"
    return Judgement(sorted(anomalies, key=lambda a: (-a.score, a.type, a.key)), skipped)


def _learn_each(
    baselines: Mapping[SeriesKey, Baseline],
    windows: Sequence[WindowStats],
    anomalies: Sequence[Anomaly],
    config: DetectionConfig,
) -> tuple[dict[SeriesKey, Baseline], Skipped]:
    """`learn`; a key it fails on keeps its baseline and is named."""
    try:
        return learn(baselines, windows, anomalies, config), {}
    except Exception:  # as in judge_window
        pass
    learned, skipped = dict(baselines), {}
    for key, own, baseline in _by_key(windows, baselines):
        try:
            learned.update(learn(baseline, own, anomalies, config))
        except Exception as exc:
            skipped[key] = f"{type(exc).__name__}: {exc}"
    return learned, skipped


def _by_key(
    windows: Sequence[WindowStats], baselines: Mapping[SeriesKey, Baseline]
) -> list[tuple[SeriesKey, list[WindowStats], dict[SeriesKey, Baseline]]]:
    """Each key with its own windows and baseline (a key may have either alone)."""
    keys = {window.key for window in windows} | set(baselines)
    return [
        (
            key,
            [window for window in windows if window.key == key],
            {key: baselines[key]} if key in baselines else {},
        )
        for key in sorted(keys)
    ]


def traces_to_follow(anomalies: Iterable[Anomaly]) -> list[str]:
    """The anomalies' sample trace ids, each once, in the order they name them."""
    return list(dict.fromkeys(t for a in anomalies for t in a.sample_trace_ids))


def conclude_window(
    windows: Sequence[WindowStats],
    anomalies: Sequence[Anomaly],
    observed: Iterable[Dependency],
    traces: Mapping[str, Sequence[Span]],
    *,
    baselines: Mapping[SeriesKey, Baseline],
    graph: DependencyGraph,
    config: DetectionConfig,
    rca: RcaConfig,
) -> WindowOutcome:
    """Root causes for `anomalies`, then learning: the second half of a window.

    RCA judges spans against the baselines as they were before this window
    (a slow window must not raise its own bar), on a graph that already
    holds this window's edges (a new callee can be the cause).
    """
    merged = graph.merge(observed)
    findings: list[Finding] = []
    if anomalies:
        slow_ms = span_thresholds(baselines, config)
        typical_ms = typical_latencies(baselines, config)
        findings = analyse(anomalies, traces, merged, slow_ms, rca, typical_ms=typical_ms)
    learned, skipped = _learn_each(baselines, windows, anomalies, config)
    return WindowOutcome(findings=tuple(findings), baselines=learned, graph=merged, skipped=skipped)
