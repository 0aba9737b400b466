"""How improbable a window's slow and failed requests are, over one window or two.

A low-traffic key sees a handful of requests per window: five slow
requests of six is suggestive, not proof, at the share a heavy-tailed key
usually has. So a window that is suspicious on its own (`hold_p_value`) is
not learned but *held* in its baseline, and the next window is judged
together with it: eleven of twelve is proof. A real fault is then reported
a window later instead of never, and never becomes the baseline; a fluke
is learned with the next window, one window late.
"""

from __future__ import annotations

from dataclasses import dataclass

from .baselines import is_established, is_warm, latency_threshold, request_threshold, usual_share
from .config import DetectionConfig
from .model import Baseline, WindowStats
from .scoring import binomial_upper_tail


@dataclass(frozen=True, slots=True)
class Counts:
    """Requests, slow and far slow ones (None: not counted), failed ones, over 1 or 2 windows."""

    count: int
    slow: int | None
    far: int | None
    failed: int
    windows: int

    @property
    def slow_share(self) -> float:
        return (self.slow or 0) / self.count if self.count else 0.0

    @property
    def far_share(self) -> float:
        return (self.far or 0) / self.count if self.count else 0.0

    @property
    def failed_share(self) -> float:
        return self.failed / self.count if self.count else 0.0


def counts(window: WindowStats, baseline: Baseline | None) -> Counts:
    """The window's counts, with the window its baseline holds if that one came just before."""
    held = baseline is not None and baseline.held_end == window.start and baseline.held_count > 0
    if not held or baseline is None:
        return Counts(window.count, window.slow_count, window.far_count, window.error_count, 1)
    slow = None if window.slow_count is None else window.slow_count + baseline.held_slow
    far = None if window.far_count is None else window.far_count + baseline.held_far
    failed = window.error_count + baseline.held_errors
    return Counts(window.count + baseline.held_count, slow, far, failed, 2)


def usual_error_rate(baseline: Baseline | None, config: DetectionConfig) -> float:
    usual = baseline.error_rate if baseline is not None else 0.0
    return max(usual, config.error_rate_floor)


def usual_slow_share(baseline: Baseline, config: DetectionConfig, slowing: float = 1.0) -> float:
    """The share of a key's requests usually past its `latency_threshold` (at the system's
    `slowing`, detection.evidence)."""
    bar = latency_threshold(baseline, config)
    return usual_share(baseline, config, bar, baseline.slow_rate, slowing)


def own_slowing(
    window: WindowStats, baseline: Baseline, config: DetectionConfig, system: float
) -> float:
    """How much slower than its usual level a key's requests run in `window`: the system's
    slowing, or the key's own median over its level if more. Far slow requests are counted
    against the key's median where it is now, so a key slower all over (its median a bit
    up) is not taken for one where some requests are slow; not on a handful of requests,
    whose median the slow ones make."""
    if baseline.level_ms <= 0 or window.count < config.min_samples:
        return max(system, 1.0)
    return max(system, window.p50_ms / baseline.level_ms, 1.0)


def usual_far_share(
    window: WindowStats, baseline: Baseline, config: DetectionConfig, slowing: float = 1.0
) -> float:
    """The share of a key's requests usually past its `request_threshold`, at the slowing
    `window` runs at (`own_slowing` of the system's `slowing`, detection.evidence)."""
    bar = request_threshold(baseline, config)
    own = own_slowing(window, baseline, config, slowing)
    # Far requests are rare, so a share learned over few requests is uncertain: none in n
    # is only "below 3/n" with 95 % confidence (the rule of three). A quiet key's tail is
    # not judged against a share it never had the requests to learn.
    unsure = min(3.0 / baseline.samples, 1.0) if baseline.samples > 0 else 1.0
    return max(usual_share(baseline, config, bar, baseline.far_rate, own), unsure)


def slow_chance(seen: Counts, baseline: Baseline, config: DetectionConfig) -> float:
    """P(at least this many slow requests) at the key's usual slow share; 1 if not counted."""
    if seen.slow is None:
        return 1.0
    return binomial_upper_tail(seen.slow, seen.count, usual_slow_share(baseline, config))


def far_chance(
    seen: Counts,
    window: WindowStats,
    baseline: Baseline,
    config: DetectionConfig,
    slowing: float = 1.0,
) -> float:
    """P(at least `seen`'s far slow requests) at the key's usual share at the slowing
    `window` runs at (`usual_far_share`); 1 if not counted."""
    if seen.far is None or not is_established(baseline, config):
        return 1.0
    usual = usual_far_share(window, baseline, config, slowing)
    return binomial_upper_tail(seen.far, seen.count, usual)


def error_chance(seen: Counts, baseline: Baseline | None, config: DetectionConfig) -> float:
    """P(at least this many failures) at the key's usual error rate."""
    return binomial_upper_tail(seen.failed, seen.count, usual_error_rate(baseline, config))


def is_suspicious(
    window: WindowStats, baseline: Baseline, config: DetectionConfig, slowing: float = 1.0
) -> bool:
    """Whether a window, alone, leans towards a fault: held rather than learned."""
    if not is_warm(baseline, config):
        return False
    alone = counts(window, None)
    chances = (
        slow_chance(alone, baseline, config),
        far_chance(alone, window, baseline, config, slowing),
        error_chance(alone, baseline, config),
    )
    return min(chances) < config.hold_p_value
