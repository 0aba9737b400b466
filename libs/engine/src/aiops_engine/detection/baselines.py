"""Baselines learned window by window: the seed's EWMA, plus a spread, robust to outliers.

A baseline follows the window median (p50) with an exponentially weighted
mean and variance (West's incremental form), so "how unusual" is measurable
as a z-score; it also follows the window p95, which tells how widely one
key's requests vary (its shape), and how often one request is slow. It
stays sane under bad data three ways:

- it learns window medians, never single requests, so one slow request
  barely moves what it learns;
- once established, a window moves it by at most `clamp_sigmas` spreads
  (winsorized), so one odd window cannot drag it far; while warming up,
  at most `warmup_multiplier` times what little it knows;
- windows the detectors flagged are not learned at all, so a long fault
  never becomes the new normal.

Every bar is relative to the key's own level and shape, so a 1 ms query
and a 2 s batch call are judged alike: a key's bar is the highest of a
shift worth reporting (level x multiplier), its usual window-to-window
wobble (z spreads), and what chance alone does to the median of the
window's n requests of this shape (z standard errors, wide when n is small).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

from .config import DetectionConfig
from .model import Baseline, SeriesKey, WindowStats

# A sample median's standard error is sqrt(pi/2) sigma / sqrt(n) for a normal
# sample; in log space, where request latencies are roughly normal, a window
# of n requests moves that much by chance alone.
MEDIAN_SE = math.sqrt(math.pi / 2)
_P95_Z = 1.6449  # the 95th percentile of a normal, in standard deviations
# Bounds on the per-request log spread read off p95/p50: a constant series is
# not infinitely precise, nor a wild one hopeless.
_SIGMA_BOUNDS = (0.05, 2.0)
_SIGMA_UNKNOWN = 0.5  # before any p95 was learned


def is_established(baseline: Baseline, config: DetectionConfig) -> bool:
    """Whether a baseline has learned enough windows to judge with its full sensitivity."""
    return baseline.windows >= config.min_windows


def is_warm(baseline: Baseline, config: DetectionConfig) -> bool:
    """Whether a baseline knows enough to judge latency at all (widely until established)."""
    return baseline.windows >= min(config.warmup_windows, config.min_windows)


def effective_spread(baseline: Baseline, config: DetectionConfig) -> float:
    """The spread with its floor, so a very steady series keeps some tolerance."""
    return max(baseline.spread_ms, config.min_spread_ratio * baseline.level_ms)


def request_sigma(baseline: Baseline) -> float:
    """How widely one request's latency varies around the typical one (log scale).

    Read off the learned p95 over p50: for a log-normal key that ratio is
    exp(1.645 sigma). A 1 ms key and a 2 s key of the same shape get the
    same relative bounds; a heavy-tailed key wider ones than a steady key.
    """
    if baseline.tail_ms <= 0 or baseline.level_ms <= 0:
        return _SIGMA_UNKNOWN
    sigma = math.log(max(baseline.tail_ms, baseline.level_ms) / baseline.level_ms) / _P95_Z
    return min(max(sigma, _SIGMA_BOUNDS[0]), _SIGMA_BOUNDS[1])


def latency_threshold(baseline: Baseline, config: DetectionConfig) -> float:
    """The latency above which one of a key's requests is slow: its level x the multiplier,
    at least the floor. How many slow requests are too many is the detector's question,
    answered against the share the key usually has (the same bar from the first window on,
    so that share is learned against it)."""
    return max(baseline.level_ms * config.latency_multiplier, config.min_latency_ms)


def warmup_threshold(baseline: Baseline, config: DetectionConfig) -> float:
    """`latency_threshold`, and while a baseline is still learning level x
    `warmup_multiplier` too: what little is known is uncertain."""
    bar = latency_threshold(baseline, config)
    if is_established(baseline, config):
        return bar
    return max(bar, baseline.level_ms * config.warmup_multiplier)


def usual_share(
    baseline: Baseline, config: DetectionConfig, bar: float, learned: float, slowing: float = 1.0
) -> float:
    """The share of a key's requests usually past `bar`: the `learned` share, but never
    below what the key's shape implies (log-normal with its sigma) nor the floor, so a
    young baseline, which has learned little, is not surprised by its own tail; with its
    level x `slowing` when the whole system runs that much slower (a busy spell)."""
    level = baseline.level_ms * max(slowing, 1.0)
    shaped = 0.0
    if level > 0 and bar > level:
        z = math.log(bar / level) / request_sigma(baseline)
        shaped = 0.5 * math.erfc(z / math.sqrt(2))
    return max(learned, shaped, config.slow_rate_floor)


def median_threshold(baseline: Baseline, config: DetectionConfig, count: int) -> float:
    """The bar for the median of `count` requests, when they were not counted one by one:
    past `latency_threshold`, `z_threshold` learned spreads of the window medians, and what
    chance alone does to the median of that many requests of this key's shape."""
    noise = config.z_threshold * MEDIAN_SE * request_sigma(baseline) / math.sqrt(max(count, 1))
    return max(
        warmup_threshold(baseline, config),
        baseline.level_ms + config.z_threshold * effective_spread(baseline, config),
        baseline.level_ms * math.exp(noise),
    )


def request_threshold(baseline: Baseline, config: DetectionConfig) -> float:
    """The latency above which ONE span of a key is slow for root-cause analysis: past the
    key's bar, and rarer than `request_z` of its own log spreads (so a heavy-tailed key's
    usual slow requests, or a 1 ms key's scheduler hiccup, are not taken for trouble)."""
    spread = config.request_z * request_sigma(baseline)
    return max(warmup_threshold(baseline, config), baseline.level_ms * math.exp(spread))


def tells_far(baseline: Baseline, config: DetectionConfig) -> bool:
    """Whether a key's far slow requests can tell a fault: its `request_threshold` is at
    least `min_latency_ms` past its level, or a few-ms key's jitter would count as one."""
    return request_threshold(baseline, config) - baseline.level_ms >= config.min_latency_ms


def count_bars(
    baselines: Mapping[SeriesKey, Baseline], config: DetectionConfig
) -> dict[SeriesKey, tuple[float, float]]:
    """Each judging key's two bars, which a window's requests are counted against:
    (`latency_threshold`, `request_threshold`)."""
    return {
        key: (latency_threshold(baseline, config), request_threshold(baseline, config))
        for key, baseline in baselines.items()
        if is_warm(baseline, config)
    }


def span_thresholds(
    baselines: Mapping[SeriesKey, Baseline], config: DetectionConfig
) -> dict[SeriesKey, float]:
    """Each judging key's `request_threshold`: what root-cause analysis calls a slow span."""
    return {
        key: request_threshold(baseline, config)
        for key, baseline in baselines.items()
        if is_warm(baseline, config)
    }


def typical_latencies(
    baselines: Mapping[SeriesKey, Baseline], config: DetectionConfig
) -> dict[SeriesKey, float]:
    """Each judging key's typical request latency (its level), for a span's own delay."""
    return {key: b.level_ms for key, b in baselines.items() if is_warm(b, config)}


def _winsorized(
    observed: float, level: float, spread: float, previous: Baseline, config: DetectionConfig
) -> float:
    """`observed`, clamped near what is known: a window moves a baseline only so far."""
    if is_established(previous, config):
        bound = config.clamp_sigmas * max(spread, config.min_spread_ratio * level)
        return min(max(observed, level - bound), level + bound)
    # Warming up: little is known, so only a window far outside it is held back.
    if level > 0:
        low, high = level / config.warmup_multiplier, level * config.warmup_multiplier
        return min(max(observed, low), high)
    return observed


def _traffic_learned(
    previous: Baseline | None, window: WindowStats, config: DetectionConfig
) -> Baseline:
    """`previous` with a window too small to teach latency learned for its traffic alone: an
    idle stretch's trickle is the key's usual rate then, and a rate learned from busy windows
    only would take the next empty window of a lull for silence. A key too quiet to teach
    latency yet still gets a baseline of its traffic (level 0, no windows learned): callers
    and throughput are judged by it."""
    if previous is None:
        return Baseline(
            key=window.key,
            level_ms=0.0,
            spread_ms=0.0,
            rate_per_s=window.rate_per_s,
            error_rate=0.0,
            samples=0,
            windows=0,
            updated_at=window.end,
            traffic_windows=1,
        )
    if window.count <= 0 or window.end <= previous.updated_at:
        return previous
    alpha = max(config.ewma_alpha, 1.0 / (max(previous.traffic_windows, previous.windows) + 1))
    return dataclasses.replace(
        previous,
        rate_per_s=previous.rate_per_s + alpha * (window.rate_per_s - previous.rate_per_s),
        updated_at=window.end,
        traffic_windows=max(previous.traffic_windows, previous.windows) + 1,
    )


def _ewm(previous: float, spread: float, observed: float, alpha: float) -> tuple[float, float]:
    """West's incremental EWMA of a level and its standard deviation."""
    diff = observed - previous
    step = alpha * diff
    return previous + step, math.sqrt((1.0 - alpha) * (spread**2 + diff * step))


def update_baseline(
    previous: Baseline | None,
    window: WindowStats,
    config: DetectionConfig,
    *,
    anomalous: bool = False,
) -> Baseline | None:
    """The baseline after learning `window`; `previous` unchanged if the window can't teach.

    A window teaches nothing when it is anomalous or not newer than the last
    one learned (so feeding the same window twice is harmless), and only its
    traffic when it has fewer than `min_samples` requests. None only when
    there was no baseline and the window cannot start one (an empty window).
    """
    if previous is not None and window.key != previous.key:
        raise ValueError(f"window for {window.key} given to the baseline of {previous.key}")
    if anomalous or window.seconds <= 0 or (previous is None and window.count <= 0):
        return previous
    if previous is not None and window.end <= previous.updated_at:
        return previous
    if window.count < config.min_samples:
        return _traffic_learned(previous, window, config)
    if previous is None or previous.windows == 0:  # the first window that teaches latency
        traffic = _traffic_learned(previous, window, config)
        return Baseline(
            key=window.key,
            level_ms=window.p50_ms,
            spread_ms=0.0,
            rate_per_s=traffic.rate_per_s,
            error_rate=window.error_rate,
            samples=window.count,
            windows=1,
            updated_at=window.end,
            tail_ms=window.p95_ms,
            traffic_windows=traffic.traffic_windows,
            season=traffic.season,
        )
    # Equal weights while warming up, then the seed's alpha: the first
    # window does not dominate the level for the next hundred.
    alpha = max(config.ewma_alpha, 1.0 / (previous.windows + 1))
    traffic_windows = max(previous.traffic_windows, previous.windows)
    rate_alpha = max(config.ewma_alpha, 1.0 / (traffic_windows + 1))
    median = _winsorized(window.p50_ms, previous.level_ms, previous.spread_ms, previous, config)
    level, spread = _ewm(previous.level_ms, previous.spread_ms, median, alpha)
    tail = window.p95_ms
    if previous.tail_ms > 0:  # else a baseline stored before tails were learned starts here
        held = min(max(tail, previous.tail_ms / config.warmup_multiplier), previous.tail_ms * 2)
        tail = previous.tail_ms + alpha * (held - previous.tail_ms)
    # The slow shares are only counted against a bar, which a baseline has once warm. They
    # are rare events' shares, so learned by requests, not windows: the share of all requests
    # so far, then of about the last `tail_memory` (five requests say little about a 2 %
    # share, and a fault on a tenth of a quiet key's requests is not its normal a minute on).
    slow_rate, far_rate = previous.slow_rate, previous.far_rate
    tail_alpha = window.count / (window.count + min(previous.samples, config.tail_memory))
    if window.slow_count is not None and is_warm(previous, config):
        slow_rate += tail_alpha * (window.slow_rate - slow_rate)
    if window.far_count is not None and is_warm(previous, config):
        far_rate += tail_alpha * (window.far_rate - far_rate)
    return Baseline(
        key=previous.key,
        level_ms=level,
        spread_ms=spread,
        rate_per_s=previous.rate_per_s + rate_alpha * (window.rate_per_s - previous.rate_per_s),
        error_rate=previous.error_rate + alpha * (window.error_rate - previous.error_rate),
        samples=previous.samples + window.count,
        windows=previous.windows + 1,
        updated_at=window.end,
        tail_ms=tail,
        slow_rate=slow_rate,
        far_rate=far_rate,
        season=previous.season,
        traffic_windows=traffic_windows + 1,
    )  # and nothing held: a learned window ends a suspicious run
