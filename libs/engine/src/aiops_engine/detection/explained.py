"""Anomalies built with their explanation: the words and figures every detector shares."""

from __future__ import annotations

import math

from .counting import Counts
from .model import Anomaly, AnomalyType, Baseline, Tally, WindowStats
from .scoring import exceedance_score


def anomaly(
    type_: AnomalyType,
    window: WindowStats,
    *,
    observed: float,
    baseline: float | None,
    threshold: float,
    explanation: str,
    counted: bool = False,
) -> Anomaly:
    """An anomaly on `window`; one `counted` (significant by its request counts, maybe pooled
    with a held window) scores at least 0.5 though this window's own figure is lower."""
    score = exceedance_score(observed, threshold)
    return Anomaly(
        type=type_,
        key=window.key,
        observed=observed,
        baseline=baseline,
        threshold=threshold,
        window_start=window.start,
        window_end=window.end,
        sample_count=window.count,
        score=max(score, 0.5) if counted else score,
        sample_trace_ids=window.sample_trace_ids,
        explanation=explanation,
    )


def some_slow(
    window: WindowStats,
    baseline: Baseline,
    threshold: float,
    seen: Counts | Tally,
    usual: float,
    slowing: float = 1.0,
) -> Anomaly:
    """Some requests slow, the median where it was: a fault on part of the traffic, seen
    in one window (with a held one) or over a run of them; `usual` is the far share the
    key was judged against, at the system's `slowing`."""
    hits = (seen.far or 0) if isinstance(seen, Counts) else seen.hits
    share = hits / seen.count if seen.count else 0.0
    what = window.key.requests
    over = f" over the last {seen.windows} windows" if seen.windows > 1 else ""
    load = f" at the system's {slowing:.1f}x slowing" if round(slowing, 1) > 1 else ""
    return anomaly(
        AnomalyType.LATENCY,
        window,
        observed=window.p95_ms,
        baseline=baseline.tail_ms,
        threshold=threshold,
        explanation=(
            f"{window.key}: {hits} of {seen.count} {what}{over} ({share:.0%}; usually "
            f"{usual:.0%}{load}) took over {ms(threshold)}, p95 {ms(window.p95_ms)}, while "
            f"the median ({ms(window.p50_ms)}) is near its usual {ms(baseline.level_ms)}: "
            f"some {what} are slow."
        ),
        counted=True,
    )


def above(observed: float, level: float, spread: float) -> str:
    """How far past its baseline a latency is, in words; a level or spread of 0 (identical
    values, as a series recorded at millisecond resolution gives) is no divisor."""
    times = observed / level if level > 0 else math.inf
    if not math.isfinite(times):
        return f"above its baseline of {ms(level)}"
    text = f"{times:.1f}x its baseline {ms(level)}"
    spreads = (observed - level) / spread if spread > 0 else math.inf
    return text + (f" and {spreads:.0f} spreads above it" if math.isfinite(spreads) else "")


def ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 10 else f"{value:.0f} ms"
