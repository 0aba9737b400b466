"""Silence: a key that went (nearly) quiet while the rest of the system did not.

Traffic comes and goes: bursts, idle stretches, a daily shape. When every
key's traffic falls together, users went away; that is load, not a fault.
So a key's expected count is its learned rate scaled by the *system's*
load in this window (the share of their usual traffic all established
keys together carried, at most 1), and it is silent when its own count is
both a small share of that and improbable for it (Poisson): a service
that stopped while its neighbours and callers go on. Only when the whole
system recorded nothing at all is each key judged against its own rate, and
not in the first such window after traffic: at a night's idle stretch a
trickle of a request a second leaves a whole window empty now and then
(and a late batch of spans does too), while a system that really stopped
is as empty in the next window.
An idle key, whose typical rate would often leave a window empty, can
never reach that improbability, so it never fires.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from .baselines import is_established
from .config import DetectionConfig
from .model import Anomaly, AnomalyType, Baseline, SeriesKey, WindowStats
from .scoring import poisson_cdf_upper_bound, shortfall_score


def detect_silence(
    windows: Iterable[WindowStats],
    baselines: Mapping[SeriesKey, Baseline],
    config: DetectionConfig,
    *,
    now: datetime,
) -> list[Anomaly]:
    """Keys with steady learned traffic that went quiet while the system carried on.

    A key absent from `windows` counts as zero requests over the last
    `window_seconds` before `now`.
    """
    by_key = {window.key: window for window in windows}
    forget = timedelta(seconds=config.silence_forget_s)
    quiet_start = now - timedelta(seconds=config.window_seconds)
    judged = [
        (by_key.get(key) or empty_window(key, quiet_start, now), baseline)
        for key, baseline in sorted(baselines.items())
        if is_established(baseline, config) and now - baseline.updated_at <= forget
    ]
    judged = [(window, baseline) for window, baseline in judged if window.seconds > 0]
    if not any(window.count for window, _ in judged) and any(
        baseline.updated_at >= quiet_start for _, baseline in judged
    ):
        return []  # the whole system's first empty window after traffic: see the module doc
    load = system_load(judged)
    found = []
    for window, baseline in judged:
        usual = baseline.rate_per_s * window.seconds
        expected = usual * load
        threshold = config.silence_ratio * expected
        probability = poisson_cdf_upper_bound(window.count, expected)
        if window.count > threshold or probability >= config.silence_p_value:
            continue
        context = "" if load >= 1 else f", at the {load:.0%} of its usual load the system carried"
        found.append(
            Anomaly(
                type=AnomalyType.SILENCE,
                key=window.key,
                observed=float(window.count),
                baseline=expected,
                threshold=threshold,
                window_start=window.start,
                window_end=window.end,
                sample_count=window.count,
                score=shortfall_score(window.count, expected),
                sample_trace_ids=window.sample_trace_ids,
                explanation=(
                    f"{window.key}: {window.count} {window.key.requests} in "
                    f"{window.seconds:.0f} s where its steady {baseline.rate_per_s:.1f}/s "
                    f"predicts about {expected:.0f}{context} (chance under {probability:.0e})."
                ),
            )
        )
    return found


def system_load(judged: Iterable[tuple[WindowStats, Baseline]]) -> float:
    """The share of their usual traffic the keys carried together, at most 1.

    1 when nothing at all arrived: a whole system gone quiet is judged
    against each key's own rate.
    """
    observed = expected = 0.0
    for window, baseline in judged:
        observed += window.count
        expected += baseline.rate_per_s * window.seconds
    if observed <= 0 or expected <= 0:
        return 1.0
    return min(1.0, observed / expected)


def empty_window(key: SeriesKey, start: datetime, end: datetime) -> WindowStats:
    return WindowStats(
        key=key,
        start=start,
        end=end,
        count=0,
        error_count=0,
        timeout_count=0,
        mean_ms=0.0,
        p50_ms=0.0,
        p95_ms=0.0,
        p99_ms=0.0,
    )
