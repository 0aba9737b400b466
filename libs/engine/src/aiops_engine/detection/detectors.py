"""Detectors: pure functions from window aggregates and baselines to anomalies.

- latency: too many of a window's requests past the key's bars for chance
  at the share the key usually has (`detect_latency` says how);
- error spike: the seed's rule, more than `error_rate_threshold` of at least
  `min_samples` requests failed (5xx, a recorded exception or error status,
  or calls that got no answer), and that many failures improbable at the
  key's usual error rate (binomial);

A window suspicious alone is held and judged again with the next
(`counting`); a fault too thin for any window adds up over a run of them
(`evidence`, `accumulated`); silence lives in `silence`.
- timeout: callers record at least `min_timeouts` timeouts to a callee, and
  more than `error_rate_threshold` of their calls;
- silence: a key whose learned traffic makes the window's near-empty count
  improbable (Poisson). An idle key, whose typical rate would often leave a
  window empty, can never reach that improbability, so it never fires;
- a throughput drop: a service that served improbably few of the calls its
  callers made (`throughput`).

Whatever a key usually does at this hour of the day and week is not
reported (`season`), once it has days of history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from .accumulated import detect_accumulated
from .baselines import (
    effective_spread,
    is_established,
    is_warm,
    median_threshold,
    request_sigma,
    request_threshold,
    tells_far,
    warmup_threshold,
)
from .config import DetectionConfig
from .counting import Counts, counts, error_chance, far_chance, slow_chance, usual_far_share
from .evidence import system_slowing
from .explained import above, anomaly, ms, some_slow
from .model import Anomaly, AnomalyType, Baseline, SeriesKey, WindowStats
from .season import is_usual, usual_range
from .silence import detect_silence, empty_window
from .throughput import detect_drops

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
    slowing = system_slowing(windows, baselines, config)
    found = [
        *detect_latency(windows, baselines, config, slowing=slowing),
        *detect_errors(windows, baselines, config),
        *detect_timeouts(windows, config),
        *detect_silence(windows, baselines, config, now=now),
    ]
    # A window's own evidence speaks first; a run of windows only where it found nothing.
    named = {(a.key, a.type) for a in found}
    found += [
        a
        for a in detect_accumulated(windows, baselines, config, slowing=slowing)
        if (a.key, a.type) not in named
    ]
    found = _unseasonal(found, windows, baselines, config)
    # A drop is judged against the callers' calls in the same window, whatever the hour.
    named = {(a.key, a.type) for a in found}
    found += [a for a in detect_drops(windows, baselines, config) if (a.key, a.type) not in named]
    return sorted(found, key=lambda a: (-a.score, a.type, a.key))


def _unseasonal(
    found: list[Anomaly], windows: list[WindowStats], baselines: Baselines, config: DetectionConfig
) -> list[Anomaly]:
    """`found` without what its key usually does at this hour of the day and week."""
    by_key = {window.key: window for window in windows}
    kept = []
    for each in found:
        baseline = baselines.get(each.key)
        if baseline is not None and (
            usual := usual_range(baseline.season, each.window_start, config)
        ):
            window = by_key.get(each.key) or empty_window(
                each.key, each.window_start, each.window_end
            )
            if is_usual(each, window, usual, request_sigma(baseline)):
                continue
        kept.append(each)
    return kept


def detect_latency(
    windows: Iterable[WindowStats],
    baselines: Baselines,
    config: DetectionConfig,
    *,
    slowing: float = 1.0,
) -> list[Anomaly]:
    """Windows with more slow requests than chance allows for their key.

    Requests are counted past two bars (`count_bars`), and each count is
    judged against the share the key usually has (binomial), so a key with
    a slow mode of its own, or a handful of requests, raises nothing:

    - most requests past level x multiplier: the median moved (a fault on
      every request, or the first minute's fault past the warm-up bar), and
      further than the key's window-to-window wobble (`z_threshold` spreads);
    - more than `slow_share_threshold` past one request's bar
      (`request_threshold`), the median where it was: a fault on some of
      the requests. That bar is far out in the key's own tail, so the
      slight slowing of a busy burst does not reach it.

    A window counted without bars (`slow_count` None) is judged by its
    median, against a bar widened for its sample size. Far slow requests
    are judged at the system's `slowing` (detection.evidence.system_slowing).
    """
    found = []
    for window in windows:
        baseline = baselines.get(window.key)
        if baseline is None or not is_warm(baseline, config) or window.count < config.min_samples:
            continue
        if window.slow_count is None:
            bar = median_threshold(baseline, config, window.count)
            if window.p50_ms > bar:
                found.append(_slow_median(window, baseline, bar, config))
            continue
        seen = counts(window, baseline)
        if _moved(window, seen, baseline, config):
            bar = warmup_threshold(baseline, config)
            found.append(_slow_median(window, baseline, bar, config, seen))
        elif (
            tells_far(baseline, config)
            and seen.far_share > config.slow_share_threshold
            and far_chance(seen, window, baseline, config, slowing) < config.slow_p_value
        ):
            usual = usual_far_share(window, baseline, config, slowing)
            found.append(
                some_slow(window, baseline, request_threshold(baseline, config), seen, usual)
            )
    return found


def _moved(window: WindowStats, seen: Counts, baseline: Baseline, config: DetectionConfig) -> bool:
    """Most requests slow, improbably so: the median moved."""
    if seen.slow_share <= 0.5 or slow_chance(seen, baseline, config) >= config.slow_p_value:
        return False
    if is_established(baseline, config):
        # Requests of one window are not independent draws: a key whose window medians
        # wobble widely (a mix of fast and slow routes) must move past its wobble too.
        wobble = baseline.level_ms + config.z_threshold * effective_spread(baseline, config)
        return window.p50_ms > wobble
    # Still learning, the key's tail is barely known: only a median far past what little is
    # known, two windows in a row (the first held), is evidence enough. A fault in the first
    # minute stays so; one slow window of a stack still warming up (a cold process, a starved
    # CPU) does not.
    return seen.windows > 1 and window.p50_ms > warmup_threshold(baseline, config)


def _slow_median(
    window: WindowStats,
    baseline: Baseline,
    threshold: float,
    config: DetectionConfig,
    seen: Counts | None = None,
) -> Anomaly:
    observed = window.p50_ms
    spread = effective_spread(baseline, config)
    learning = (
        "" if is_established(baseline, config) else f", still learning: {baseline.windows} windows"
    )
    pooled = ""
    if seen is not None and seen.windows > 1:
        pooled = f"; {seen.slow} of {seen.count} slow over the last {seen.windows} windows"
    return anomaly(
        AnomalyType.LATENCY,
        window,
        observed=observed,
        baseline=baseline.level_ms,
        threshold=threshold,
        explanation=(
            f"{window.key}: median latency {ms(observed)} over {window.count} "
            f"{window.key.requests} is {above(observed, baseline.level_ms, spread)} "
            f"(p95 {ms(window.p95_ms)}, threshold {ms(threshold)}{learning}{pooled})."
        ),
        counted=seen is not None,
    )


def detect_errors(
    windows: Iterable[WindowStats], baselines: Baselines, config: DetectionConfig
) -> list[Anomaly]:
    """Windows where more than the threshold share of enough requests failed, improbably."""
    found = []
    for window in windows:
        baseline = baselines.get(window.key)
        seen = counts(window, baseline)
        if window.count < config.min_samples or seen.failed_share <= config.error_rate_threshold:
            continue
        if error_chance(seen, baseline, config) >= config.error_p_value:
            continue
        usual = baseline.error_rate if baseline is not None else None
        usual_text = f"; usually {usual:.1%}" if usual is not None else ""
        over = f" over the last {seen.windows} windows" if seen.windows > 1 else ""
        found.append(
            anomaly(
                AnomalyType.ERROR_SPIKE,
                window,
                observed=window.error_rate,
                baseline=usual,
                threshold=config.error_rate_threshold,
                explanation=(
                    f"{window.key}: {seen.failed} of {seen.count} {window.key.requests}{over} "
                    f"failed ({seen.failed_share:.0%}, threshold {config.error_rate_threshold:.0%}"
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
            anomaly(
                AnomalyType.TIMEOUT,
                window,
                observed=rate,
                baseline=None,
                threshold=config.error_rate_threshold,
                explanation=(
                    f"{window.key}: {window.timeout_count} of {window.count} "
                    f"{window.key.requests} timed out ({rate:.0%}, "
                    f"threshold {config.error_rate_threshold:.0%})."
                ),
            )
        )
    return found
