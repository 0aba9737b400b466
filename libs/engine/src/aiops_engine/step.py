"""One analysis window, as the live analyzer and replay both run it.

The live cycle (services/analyzer/analyzer/cycle.py) reads a window from
PostgreSQL, `aiops replay` builds it in memory; both then call these two
functions, around fetching the sample traces, so they cannot drift:

    anomalies = detect(windows, baselines, config, now=end)
    traces    = <spans of traces_to_follow(anomalies)>
    outcome   = conclude_window(...)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .detection import Anomaly, Baseline, DetectionConfig, SeriesKey, WindowStats, learn
from .rca import Dependency, DependencyGraph, Finding, RcaConfig, Span, analyse, slow_thresholds

# Sample traces kept per key and window: what RCA follows, worst first.
SAMPLE_TRACES = 5


@dataclass(frozen=True, slots=True)
class WindowOutcome:
    """What one window found, and the state the next window starts from."""

    findings: tuple[Finding, ...]
    baselines: dict[SeriesKey, Baseline]  # every window no anomaly names, learned
    graph: DependencyGraph  # the known graph with this window's edges added


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
        findings = analyse(anomalies, traces, merged, slow_thresholds(baselines, config), rca)
    learned = learn(baselines, windows, anomalies, config)
    return WindowOutcome(findings=tuple(findings), baselines=learned, graph=merged)
