"""A cycle's learning: every window no anomaly names, but a suspicious one held back once.

A window that leans towards a fault without proving it (detection.counting)
is held in its baseline instead of learned, and judged again with the next
window; a second suspicious window in a row is learned (it is the key's
normal, or will be flagged), so a baseline never freezes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from .baselines import update_baseline
from .config import DetectionConfig
from .counting import is_suspicious
from .evidence import accumulate, afresh, holds, system_slowing
from .model import Anomaly, Baseline, SeriesKey, WindowStats


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
    windows = list(windows)
    slowing = system_slowing(windows, baselines, config)
    for window in windows:
        previous = learned.get(window.key)
        if previous is None:
            started = update_baseline(None, window, config)
            if started is not None:
                learned[window.key] = started
            continue
        if window.key in flagged:
            learned[window.key] = afresh(_release(previous))
            continue
        evidence = accumulate(previous, window, config, slowing)
        if (
            previous.held_end != window.start
            and window.end > previous.updated_at
            and window.count >= config.min_samples
            and is_suspicious(window, previous, config, slowing)
        ):
            learned[window.key] = dataclasses.replace(hold(previous, window), evidence=evidence)
            continue
        if window.end > previous.updated_at and holds(evidence, config):
            # Not proof yet, but the run leans towards a fault: not learned either.
            learned[window.key] = dataclasses.replace(_release(previous), evidence=evidence)
            continue
        # A window learned, even for its traffic alone, ends a held one; so does one not.
        updated = _release(update_baseline(previous, window, config) or previous)
        learned[window.key] = dataclasses.replace(updated, evidence=evidence)
    return learned


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
