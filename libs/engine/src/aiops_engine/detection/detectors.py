"""Detectors: pure functions from window aggregates and baselines to anomalies.

- latency: the window median is past baseline x multiplier *and* `z_threshold`
  spreads above the baseline, over at least `min_samples` requests, against
  an established baseline;
- error spike: the seed's rule, more than `error_rate_threshold` of at least
  `min_samples` requests failed (5xx, or calls that got no answer), and that
  many failures improbable at the key's usual error rate (binomial);
- timeout: callers record at least `min_timeouts` timeouts to a callee, and
  more than `error_rate_threshold` of their calls;
- silence: a key whose learned traffic makes the window's near-empty count
  improbable (Poisson). An idle key, whose typical rate would often leave a
  window empty, can never reach that improbability, so it never fires.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from .baselines import effective_spread, is_established, latency_threshold
from .config import DetectionConfig
from .model import Anomaly, AnomalyType, Baseline, KeyKind, SeriesKey, WindowStats
from .scoring import (
    binomial_upper_tail,
    exceedance_score,
    poisson_cdf_upper_bound,
    shortfall_score,
)

Baselines = Mapping[SeriesKey, Baseline]


def detect(
    windows: Iterable[WindowStats],
    baselines: Baselines,
    config: DetectionConfig,
    *,
    now: datetime,
) -> list[Anomaly]:
    """Every anomaly in a cycle's windows, highest score first."""
    windows = list(windows)
    found = [
        *detect_latency(windows, baselines, config),
        *detect_errors(windows, baselines, config),
        *detect_timeouts(windows, config),
        *detect_silence(windows, baselines, config, now=now),
    ]
    return sorted(found, key=lambda a: (-a.score, a.type, a.key))


def detect_latency(
    windows: Iterable[WindowStats], baselines: Baselines, config: DetectionConfig
) -> list[Anomaly]:
    """Windows whose median latency is both many times and many spreads above normal."""
    found = []
    for window in windows:
        baseline = baselines.get(window.key)
        if (
            baseline is None
            or not is_established(baseline, config)
            or window.count < config.min_samples
        ):
            continue
        spread = effective_spread(baseline, config)
        threshold = latency_threshold(baseline, config)
        observed = window.p50_ms
        if observed <= threshold:
            continue
        found.append(
            _anomaly(
                AnomalyType.LATENCY,
                window,
                observed=observed,
                baseline=baseline.level_ms,
                threshold=threshold,
                explanation=(
                    f"{window.key}: median latency {_ms(observed)} over {window.count} "
                    f"requests is {_above(observed, baseline.level_ms, spread)} "
                    f"(p95 {_ms(window.p95_ms)}, threshold {_ms(threshold)})."
                ),
            )
        )
    return found


def detect_errors(
    windows: Iterable[WindowStats], baselines: Baselines, config: DetectionConfig
) -> list[Anomaly]:
    """Windows where more than the threshold share of enough requests failed, improbably."""
    found = []
    for window in windows:
        rate = window.error_rate
        if window.count < config.min_samples or rate <= config.error_rate_threshold:
            continue
        baseline = baselines.get(window.key)
        usual = baseline.error_rate if baseline is not None else None
        expected_rate = max(usual or 0.0, config.error_rate_floor)
        chance = binomial_upper_tail(window.error_count, window.count, expected_rate)
        if chance >= config.error_p_value:
            continue
        usual_text = f"; usually {usual:.1%}" if usual is not None else ""
        found.append(
            _anomaly(
                AnomalyType.ERROR_SPIKE,
                window,
                observed=rate,
                baseline=usual,
                threshold=config.error_rate_threshold,
                explanation=(
                    f"{window.key}: {window.error_count} of {window.count} {_requests(window)} "
                    f"failed ({rate:.0%}, threshold {config.error_rate_threshold:.0%}"
                    f"{usual_text})."
                ),
            )
        )
    return found


def detect_timeouts(windows: Iterable[WindowStats], config: DetectionConfig) -> list[Anomaly]:
    """Windows where callers waited in vain: enough timeouts, and a large share of calls."""
    found = []
    for window in windows:
        rate = window.timeout_rate
        if window.timeout_count < config.min_timeouts or rate <= config.error_rate_threshold:
            continue
        found.append(
            _anomaly(
                AnomalyType.TIMEOUT,
                window,
                observed=rate,
                baseline=None,
                threshold=config.error_rate_threshold,
                explanation=(
                    f"{window.key}: {window.timeout_count} of {window.count} "
                    f"{_requests(window)} timed out ({rate:.0%}, "
                    f"threshold {config.error_rate_threshold:.0%})."
                ),
            )
        )
    return found


def detect_silence(
    windows: Iterable[WindowStats],
    baselines: Baselines,
    config: DetectionConfig,
    *,
    now: datetime,
) -> list[Anomaly]:
    """Keys with steady learned traffic that went (nearly) quiet; idle keys never qualify.

    A key absent from `windows` counts as zero requests over the last
    `window_seconds` before `now`.
    """
    by_key = {window.key: window for window in windows}
    forget = timedelta(seconds=config.silence_forget_s)
    quiet_start = now - timedelta(seconds=config.window_seconds)
    found = []
    for key, baseline in sorted(baselines.items()):
        if not is_established(baseline, config) or now - baseline.updated_at > forget:
            continue
        window = by_key.get(key) or _empty_window(key, quiet_start, now)
        if window.seconds <= 0:
            continue
        expected = baseline.rate_per_s * window.seconds
        threshold = config.silence_ratio * expected
        probability = poisson_cdf_upper_bound(window.count, expected)
        if window.count > threshold or probability >= config.silence_p_value:
            continue
        found.append(
            Anomaly(
                type=AnomalyType.SILENCE,
                key=key,
                observed=float(window.count),
                baseline=expected,
                threshold=threshold,
                window_start=window.start,
                window_end=window.end,
                sample_count=window.count,
                score=shortfall_score(window.count, expected),
                sample_trace_ids=window.sample_trace_ids,
                explanation=(
                    f"{key}: {window.count} {_requests(window)} in {window.seconds:.0f} s "
                    f"where its steady {baseline.rate_per_s:.1f}/s predicts about "
                    f"{expected:.0f} (chance under {probability:.0e})."
                ),
            )
        )
    return found


def _anomaly(
    type_: AnomalyType,
    window: WindowStats,
    *,
    observed: float,
    baseline: float | None,
    threshold: float,
    explanation: str,
) -> Anomaly:
    return Anomaly(
        type=type_,
        key=window.key,
        observed=observed,
        baseline=baseline,
        threshold=threshold,
        window_start=window.start,
        window_end=window.end,
        sample_count=window.count,
        score=exceedance_score(observed, threshold),
        sample_trace_ids=window.sample_trace_ids,
        explanation=explanation,
    )


def _empty_window(key: SeriesKey, start: datetime, end: datetime) -> WindowStats:
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


def _above(observed: float, level: float, spread: float) -> str:
    """How far past its baseline a latency is, in words; a level or spread of 0 (identical
    values, as a series recorded at millisecond resolution gives) is no divisor."""
    times = observed / level if level > 0 else math.inf
    if not math.isfinite(times):
        return f"above its baseline of {_ms(level)}"
    text = f"{times:.1f}x its baseline {_ms(level)}"
    spreads = (observed - level) / spread if spread > 0 else math.inf
    return text + (f" and {spreads:.0f} spreads above it" if math.isfinite(spreads) else "")


def _requests(window: WindowStats) -> str:
    return "calls" if window.key.kind is KeyKind.EDGE else "requests"


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 10 else f"{value:.0f} ms"
