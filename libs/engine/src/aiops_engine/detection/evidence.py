"""Evidence accumulated window after window: a fault too thin for any one window.

A slow ramp teaches the baseline its own rise window by window, and one
failure in five on a quiet endpoint never makes one window improbable.
Both are plain over a minute. So each key keeps, for its slow requests
(past level x multiplier) and its failed ones, Page's one-sided CUSUM of
the log-likelihood ratio between the key's usual share (`usual_slow_share`,
`usual_error_rate`) and a share worth reporting:

    S = max(0, S + k ln(p1/p0) + (n - k) ln((1 - p1)/(1 - p0)))

over consecutive windows (a quiet key's empty windows add nothing but count
towards the run's length), on endpoints only for slow requests (an edge
mixes its callee's routes, and a burst of calls to the slow one moves its
median with nothing wrong). Under the usual share S reaches ln(1/p) with
probability at most p per run (Wald), so the bars are p-values: past
ln(1/`evidence_hold_p_value`) the key is not learned (`holds`); past
ln(1/`slow_p_value`), or ln(1/`error_p_value`) for failures, with the
run's share past the detectors' share thresholds, it is an anomaly
(`accumulated`), and a reported anomaly starts the evidence afresh. A run
spans at most `evidence_windows` windows; the window after it is learned
and starts nothing, so a lasting modest change becomes the baseline in
the end and a fault that ended does not lend its hits to later windows.

A fault on some requests (10-30 %) leaves the median where it was and
rarely pushes one window's count past chance on a quiet endpoint; its far
slow requests (past `request_threshold`) are weighed in a third run
(`partial`) against a share of `PARTIAL`. Far requests are rare, so a key
that learned its share over few requests is weighed against no less than
that few can rule out (`usual_far_share`), and a few-ms key whose far bar
is a few ms past its level raises none (`tells_far`): that is jitter. A
busy spell slows every key a little for minutes, which fattens their tails
by a few percent, so that run weighs a key's far share against the share
it would usually have at the system's slowing (the median key's median
over its usual level, `system_slowing`), or at its own median if slower
(`own_slowing`): a service slower than its neighbours, not a system under
load.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import replace

from .baselines import is_established
from .config import DetectionConfig
from .counting import usual_error_rate, usual_far_share, usual_slow_share
from .model import Baseline, Evidence, KeyKind, SeriesKey, Tally, WindowStats

# The shares a run is weighed against (p1): most requests past level x multiplier (the
# median moved); for failed requests, twice the detectors' share threshold. Never below
# 4x the usual share, so a key that is often slow or failing needs a real change.
MOVED = 0.5
PARTIAL = 0.1  # ... some requests slow: a fault on a tenth of them
_TIMES_USUAL = 4.0
_MOST = 0.99


def system_slowing(
    windows: Iterable[WindowStats], baselines: Mapping[SeriesKey, Baseline], config: DetectionConfig
) -> float:
    """How much slower than usual the system as a whole runs in a cycle's windows: the
    median, over keys with a known level and enough requests, of the window median over
    that level; 1 when faster or unknown. A median, so one slow service and its callers
    do not make it."""
    ratios = []
    for window in windows:
        baseline = baselines.get(window.key)
        if (
            baseline is not None
            and is_established(baseline, config)
            and baseline.level_ms > 0
            and window.count >= config.min_samples
        ):
            ratios.append(window.p50_ms / baseline.level_ms)
    return max(statistics.median(ratios), 1.0) if ratios else 1.0


def accumulate(
    baseline: Baseline, window: WindowStats, config: DetectionConfig, slowing: float = 1.0
) -> Evidence:
    """`baseline`'s evidence with `window` folded in (afresh if the window does not follow the
    last one folded), its partial run judged at the system's `slowing`."""
    known = baseline.evidence
    if known.end is not None and window.end <= known.end:
        return known  # a window folded already (the same window given twice)
    before = _carried(known, window, config)
    # A run ends after `evidence_windows`; the window after it starts nothing, so it is
    # learned (a lasting change is, in the end) and an ended fault lends it no hits.
    slow, partial, failed = Tally(), Tally(), Tally()
    # An edge mixes its callee's routes: a burst of calls to the slow one moves its median
    # for minutes with nothing wrong, so slow runs are kept for endpoints alone.
    if (
        window.key.kind is KeyKind.ENDPOINT
        and window.slow_count is not None
        and is_established(baseline, config)
    ):
        if before.slow.windows < config.evidence_windows:
            usual = usual_slow_share(baseline, config)
            alternative = max(MOVED, _TIMES_USUAL * usual)
            slow = fold_run(before.slow, window.count, window.slow_count, usual, alternative)
        if before.partial.windows < config.evidence_windows and window.far_count is not None:
            usual = usual_far_share(window, baseline, config, slowing)
            alternative = max(PARTIAL, _TIMES_USUAL * usual)
            partial = fold_run(before.partial, window.count, window.far_count, usual, alternative)
    if before.failed.windows < config.evidence_windows:
        usual = usual_error_rate(baseline, config)
        alternative = max(2 * config.error_rate_threshold, _TIMES_USUAL * usual)
        failed = fold_run(before.failed, window.count, window.error_count, usual, alternative)
    if slow == partial == failed == Tally():
        return Evidence()  # nothing to carry on: the next window starts afresh anyway
    return Evidence(slow=slow, failed=failed, end=window.end, partial=partial)


def _carried(known: Evidence, window: WindowStats, config: DetectionConfig) -> Evidence:
    """The run `window` continues: `known`, with the windows in between that held no
    requests (a quiet key's empty ones) counted towards its length; none after a gap as
    long as a whole run."""
    if known.end is None or window.start < known.end:
        return Evidence()
    width = (window.end - window.start).total_seconds()
    skipped = round((window.start - known.end).total_seconds() / width) if width > 0 else 0
    if skipped == 0:
        return known
    if skipped >= config.evidence_windows:
        return Evidence()
    return replace(
        known,
        slow=_longer(known.slow, skipped),
        partial=_longer(known.partial, skipped),
        failed=_longer(known.failed, skipped),
    )


def _longer(tally: Tally, windows: int) -> Tally:
    return replace(tally, windows=tally.windows + windows) if tally.windows else tally


def fold_run(tally: Tally, count: int, hits: int, usual: float, alternative: float) -> Tally:
    """One window's requests (`hits` of `count` slow or failed) added to a run."""
    p0 = min(max(usual, 1e-9), _MOST)
    p1 = min(alternative, _MOST)
    if p1 <= p0 or count <= 0:
        return tally
    hits = min(max(hits, 0), count)
    step = hits * math.log(p1 / p0) + (count - hits) * math.log((1 - p1) / (1 - p0))
    llr = tally.llr + step
    if llr <= 0:
        return Tally()
    return Tally(llr, tally.count + count, tally.hits + hits, tally.windows + 1)


def bar(p_value: float) -> float:
    """The log-likelihood ratio a run must reach to be as improbable as `p_value` (0: never)."""
    return math.log(1 / p_value) if p_value > 0 else math.inf


def holds(evidence: Evidence, config: DetectionConfig) -> bool:
    """Whether a key's run leans towards a fault: its window is not learned (not for ever)."""
    return any(
        tally.llr >= bar(config.evidence_hold_p_value)
        for tally in (evidence.slow, evidence.partial, evidence.failed)
    )


def afresh(baseline: Baseline) -> Baseline:
    """`baseline` with its evidence reset after an anomaly was reported (Page's restart)."""
    return baseline if baseline.evidence == Evidence() else replace(baseline, evidence=Evidence())
