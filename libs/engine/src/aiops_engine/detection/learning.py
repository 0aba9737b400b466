"""A cycle's learning: every window no anomaly names, but a suspicious one held back once;
and every window, named or not, remembered for its hour (detection.season).

A window that leans towards a fault without proving it (detection.counting)
is held in its baseline instead of learned, and judged again with the next
window; a second suspicious window in a row is learned (it is the key's
normal, or will be flagged), so a baseline never freezes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from .baselines import latency_threshold, request_sigma, update_baseline
from .config import DetectionConfig
from .counting import is_suspicious
from .evidence import accumulate, afresh, holds, system_slowing
from .model import Anomaly, AnomalyType, Baseline, KeyKind, SeriesKey, Tally, WindowStats
from .season import fold, is_usual_window
from .throughput import coupled, drop_runs


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
    anomalies = list(anomalies)
    flagged = {anomaly.key for anomaly in anomalies}
    learned = dict(baselines)
    windows = list(windows)
    slowing = system_slowing(windows, baselines, config)
    for window in windows:
        taught = _taught(learned.get(window.key), window, window.key in flagged, config, slowing)
        if taught is not None:  # every window is remembered for its hour, flagged or not
            learned[window.key] = dataclasses.replace(
                taught, season=fold(taught.season, window, config)
            )
    _learn_absences(learned, windows, flagged, config)
    return _with_drop_runs(learned, baselines, windows, anomalies, config)


def _learn_absences(
    learned: dict[SeriesKey, Baseline],
    windows: list[WindowStats],
    flagged: set[SeriesKey],
    config: DetectionConfig,
) -> None:
    """Keys with no request in a cycle where the system carried traffic learn their absence:
    a key's rate is its traffic over the time the system is busy, not over the windows it
    happened to appear in. Learned from the latter alone, a key that only carries traffic in
    bursts (a compensation ledger written only while a downstream fails) takes a burst's rate
    for its steady one, and is reported silent for an hour after each burst.

    Not learned: a key an anomaly names (a silence: a service that stopped stays reported,
    as in every window), any key while the whole system is quiet (users went away: load, not
    a fault), and a key past `silence_forget_s` or too quiet to matter (no rewrite for ever).
    """
    busy = [window for window in windows if window.count > 0]
    if not busy:
        return
    present = {window.key for window in busy}
    end = max(window.end for window in busy)
    seconds = max(window.seconds for window in busy)
    for key, baseline in list(learned.items()):
        if key in present or key in flagged or baseline.rate_per_s * seconds < 1e-3:
            continue
        if (end - baseline.updated_at).total_seconds() > config.silence_forget_s:
            continue
        known = max(baseline.traffic_windows, baseline.windows)
        alpha = max(config.ewma_alpha, 1.0 / (known + 1))
        learned[key] = dataclasses.replace(baseline, rate_per_s=baseline.rate_per_s * (1 - alpha))


def _with_drop_runs(
    learned: dict[SeriesKey, Baseline],
    baselines: Mapping[SeriesKey, Baseline],
    windows: list[WindowStats],
    anomalies: list[Anomaly],
    config: DetectionConfig,
) -> dict[SeriesKey, Baseline]:
    """`learned` with each judged service's drop run on its endpoints (detection.throughput),
    restarted once reported; an endpoint keeps its rate while a run is on."""
    if not windows:
        return learned
    steps = drop_runs(windows, baselines, config)
    reported = {a.key.service for a in anomalies if a.type is AnomalyType.SILENCE}
    end = max(window.end for window in windows)
    for key, baseline in baselines.items():
        if key.kind is not KeyKind.ENDPOINT or key not in learned:
            continue
        step = steps.get(key.service)
        if step is None:
            if baseline.dropped.windows:
                learned[key] = dataclasses.replace(learned[key], dropped=Tally(), dropped_end=end)
            continue
        dropped = key.service in reported
        run = Tally() if dropped else step.run
        kept = learned[key]
        if run.llr > 0:  # a run on: its rate is not learned meanwhile
            kept = dataclasses.replace(
                kept, rate_per_s=baseline.rate_per_s, traffic_windows=baseline.traffic_windows
            )
        if baseline.dropped_end is None or end > baseline.dropped_end:
            coupling = coupled(baseline.coupling, baseline.dropped, step, dropped, config)
            kept = dataclasses.replace(kept, coupling=coupling)
        learned[key] = dataclasses.replace(kept, dropped=run, dropped_end=end)
    return learned


def _taught(
    previous: Baseline | None,
    window: WindowStats,
    flagged: bool,
    config: DetectionConfig,
    slowing: float,
) -> Baseline | None:
    """One key's baseline after `window` (None: none yet, and the window cannot start one)."""
    if previous is None:
        return update_baseline(None, window, config)
    if flagged:
        return afresh(_release(previous))
    if _elevated(previous, window, config) and is_usual_window(
        window, previous.season, config, request_sigma(previous)
    ):
        # What this key does at this hour (a nightly batch): its normal, no fault's evidence.
        return afresh(_release(update_baseline(previous, window, config) or previous))
    evidence = accumulate(previous, window, config, slowing)
    if (
        previous.held_end != window.start
        and window.end > previous.updated_at
        and window.count >= config.min_samples
        and is_suspicious(window, previous, config, slowing)
    ):
        return dataclasses.replace(hold(previous, window), evidence=evidence)
    if window.end > previous.updated_at and holds(evidence, config):
        # Not proof yet, but the run leans towards a fault: not learned either.
        return dataclasses.replace(_release(previous), evidence=evidence)
    # A window learned, even for its traffic alone, ends a held one; so does one not.
    updated = _release(update_baseline(previous, window, config) or previous)
    return dataclasses.replace(updated, evidence=evidence)


def _elevated(baseline: Baseline, window: WindowStats, config: DetectionConfig) -> bool:
    """Whether a window is slower or failing more than its key usually is (the cheap test
    before its hour is looked up)."""
    return (
        window.p50_ms > latency_threshold(baseline, config)
        or window.far_rate > max(2 * baseline.far_rate, config.slow_share_threshold)
        or window.error_rate > max(2 * baseline.error_rate, config.error_rate_threshold)
    )


def hold(baseline: Baseline, window: WindowStats) -> Baseline:
    """`baseline`, holding `window` to be judged again with the next one."""
    return dataclasses.replace(
        baseline,
        held_count=window.count,
        held_slow=window.slow_count or 0,
        held_far=window.far_count or 0,
        held_errors=window.error_count,
        held_end=window.end,
    )


def _release(baseline: Baseline) -> Baseline:
    if baseline.held_end is None:
        return baseline
    return dataclasses.replace(
        baseline, held_count=0, held_slow=0, held_far=0, held_errors=0, held_end=None
    )
