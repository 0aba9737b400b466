"""Anomalies from evidence accumulated over windows (detection.evidence): a ramp the
baseline was kept from learning, failures a few at a time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .baselines import latency_threshold, request_threshold, tells_far
from .config import DetectionConfig
from .counting import usual_far_share, usual_slow_share
from .evidence import MOVED, accumulate, bar
from .explained import anomaly, ms, some_slow
from .model import Anomaly, AnomalyType, Baseline, SeriesKey, Tally, WindowStats


def detect_accumulated(
    windows: Iterable[WindowStats],
    baselines: Mapping[SeriesKey, Baseline],
    config: DetectionConfig,
    *,
    slowing: float = 1.0,
) -> list[Anomaly]:
    """Windows whose key's run of slow or failed requests has become improbable (some slow
    ones at the system's `slowing`, detection.evidence.system_slowing)."""
    found = []
    for window in windows:
        baseline = baselines.get(window.key)
        if baseline is None or window.count <= 0:
            continue
        evidence = accumulate(baseline, window, config, slowing)
        slow, partial, failed = evidence.slow, evidence.partial, evidence.failed
        threshold = latency_threshold(baseline, config)
        # "Most requests are slow" must hold in the window it is reported on too.
        moved = slow.share > MOVED and window.p50_ms > threshold
        if slow.llr >= bar(config.slow_p_value) and moved:
            usual = usual_slow_share(baseline, config)
            found.append(_latency(window, baseline, threshold, usual, slow))
        elif partial.llr >= bar(config.slow_p_value) and tells_far(baseline, config):
            usual = usual_far_share(window, baseline, config, slowing)
            if partial.share > max(config.slow_share_threshold, 2 * usual):
                far = request_threshold(baseline, config)
                found.append(some_slow(window, baseline, far, partial, usual, slowing))
        if failed.llr >= bar(config.error_p_value) and failed.share > config.error_rate_threshold:
            found.append(_failed(window, baseline, failed, config))
    return found


def _latency(
    window: WindowStats, baseline: Baseline, threshold: float, usual: float, run: Tally
) -> Anomaly:
    what = window.key.requests
    return anomaly(
        AnomalyType.LATENCY,
        window,
        observed=window.p50_ms,
        baseline=baseline.level_ms,
        threshold=threshold,
        explanation=(
            f"{window.key}: {run.hits} of {run.count} {what} over the last {run.windows} "
            f"windows ({run.share:.0%}; usually {usual:.0%}) took over {ms(threshold)}, "
            f"improbably many at its usual {ms(baseline.level_ms)}: most {what} are slow "
            f"(median now {ms(window.p50_ms)}, p95 {ms(window.p95_ms)})."
        ),
        counted=True,
    )


def _failed(
    window: WindowStats, baseline: Baseline, run: Tally, config: DetectionConfig
) -> Anomaly:
    return anomaly(
        AnomalyType.ERROR_SPIKE,
        window,
        observed=run.share,
        baseline=baseline.error_rate,
        threshold=config.error_rate_threshold,
        explanation=(
            f"{window.key}: {run.hits} of {run.count} {window.key.requests} over the last "
            f"{run.windows} windows failed ({run.share:.0%}, threshold "
            f"{config.error_rate_threshold:.0%}; usually {baseline.error_rate:.1%})."
        ),
        counted=True,
    )
