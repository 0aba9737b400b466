"""Anomalies built with their explanation: the words and figures every detector shares."""

from __future__ import annotations

import math

from .model import Anomaly, AnomalyType, WindowStats
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
