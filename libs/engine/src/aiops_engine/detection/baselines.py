"""Baselines learned window by window: the seed's EWMA, plus a spread, robust to outliers.

A baseline follows the window median (p50) with an exponentially weighted
mean and variance (West's incremental form), so "how unusual" is measurable
as a z-score. It stays sane under bad data three ways:

- it learns window medians, never single requests, so one slow request
  barely moves what it learns;
- once established, a window moves it by at most `clamp_sigmas` spreads
  (winsorized), so one odd window cannot drag it far;
- windows the detectors flagged are not learned at all, so a long fault
  never becomes the new normal.

A slow drift stays within a few spreads of the level each window and is
followed; a jump past the latency multiplier is flagged and not learned.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from .config import DetectionConfig
from .model import Anomaly, Baseline, SeriesKey, WindowStats


def is_established(baseline: Baseline, config: DetectionConfig) -> bool:
    """Whether a baseline has learned enough windows to judge against."""
    return baseline.windows >= config.min_windows


def effective_spread(baseline: Baseline, config: DetectionConfig) -> float:
    """The spread with its floor, so a very steady series keeps some tolerance."""
    return max(baseline.spread_ms, config.min_spread_ratio * baseline.level_ms)


def latency_threshold(baseline: Baseline, config: DetectionConfig) -> float:
    """The latency above which a window median, or one request, counts as slow for this key."""
    return max(
        baseline.level_ms * config.latency_multiplier,
        baseline.level_ms + config.z_threshold * effective_spread(baseline, config),
        config.min_latency_ms,
    )


def update_baseline(
    previous: Baseline | None,
    window: WindowStats,
    config: DetectionConfig,
    *,
    anomalous: bool = False,
) -> Baseline | None:
    """The baseline after learning `window`; `previous` unchanged if the window can't teach.

    A window teaches nothing when it is anomalous, has fewer than
    `min_samples` requests, or is not newer than the last one learned (so
    feeding the same window twice is harmless). None only when there was no
    baseline and the window cannot start one.
    """
    if previous is not None and window.key != previous.key:
        raise ValueError(f"window for {window.key} given to the baseline of {previous.key}")
    if anomalous or window.count < config.min_samples or window.seconds <= 0:
        return previous
    if previous is None:
        return Baseline(
            key=window.key,
            level_ms=window.p50_ms,
            spread_ms=0.0,
            rate_per_s=window.rate_per_s,
            error_rate=window.error_rate,
            samples=window.count,
            windows=1,
            updated_at=window.end,
        )
    if window.end <= previous.updated_at:
        return previous

    # Equal weights while warming up, then the seed's alpha: the first
    # window does not dominate the level for the next hundred.
    alpha = max(config.ewma_alpha, 1.0 / (previous.windows + 1))
    observed = window.p50_ms
    if is_established(previous, config):
        bound = config.clamp_sigmas * effective_spread(previous, config)
        observed = min(max(observed, previous.level_ms - bound), previous.level_ms + bound)

    diff = observed - previous.level_ms
    step = alpha * diff
    variance = (1.0 - alpha) * (previous.spread_ms**2 + diff * step)
    return Baseline(
        key=previous.key,
        level_ms=previous.level_ms + step,
        spread_ms=math.sqrt(variance),
        rate_per_s=previous.rate_per_s + alpha * (window.rate_per_s - previous.rate_per_s),
        error_rate=previous.error_rate + alpha * (window.error_rate - previous.error_rate),
        samples=previous.samples + window.count,
        windows=previous.windows + 1,
        updated_at=window.end,
    )


def learn(
    baselines: Mapping[SeriesKey, Baseline],
    windows: Iterable[WindowStats],
    anomalies: Iterable[Anomaly],
    config: DetectionConfig,
) -> dict[SeriesKey, Baseline]:
    """Baselines after learning a cycle's windows, skipping every key an anomaly names.

    Meant for tumbling windows: learning overlapping windows would count
    the same requests several times and make alpha effectively larger.
    """
    flagged = {anomaly.key for anomaly in anomalies}
    learned = dict(baselines)
    for window in windows:
        updated = update_baseline(
            learned.get(window.key), window, config, anomalous=window.key in flagged
        )
        if updated is not None:
            learned[window.key] = updated
    return learned
