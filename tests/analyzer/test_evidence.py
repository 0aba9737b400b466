"""Evidence accumulated over windows: a fault too thin for any one window is still found.

A few failures a window, a ramp the baseline would otherwise learn: each
window alone is unremarkable, the run is not (detection.evidence, a
one-sided CUSUM per count).
"""

from __future__ import annotations

import dataclasses
import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from aiops_engine.detection import (
    Anomaly,
    AnomalyType,
    Evidence,
    Tally,
    WindowStats,
    accumulate,
    detect_accumulated,
    detect_errors,
    holds,
    request_threshold,
)

from .synthetic import CONFIG, PAYMENT, Run, at, lognormal, poisson, steady_run


def quiet_key(rng: random.Random, count: int = 5) -> tuple[Run, int]:
    """A key learned on `count` requests a window around 100 ms, with the next window's index."""
    run = steady_run(rng, 40, count=count, counted=True)
    assert run.anomalies == []
    return run, 40


def test_failures_a_few_at_a_time_become_an_error_spike() -> None:
    """Two failures in ten, window after window, where failures are rare: an error spike once
    the run is improbable at the usual rate; neither one window nor two pooled prove it."""
    rng = random.Random(6)
    run, index = quiet_key(rng, count=10)
    found: list[Anomaly] = []
    for i in range(index, index + CONFIG.evidence_windows):
        window = run.window(lognormal(rng, 100.0, 10), index=i, errors=2)
        assert detect_errors([window], {}, CONFIG) == []
        found = run.cycle([window], index=i)
        if found:
            break
    [anomaly] = found
    windows = i - index + 1
    assert 3 <= windows <= 8
    assert anomaly.type is AnomalyType.ERROR_SPIKE
    assert anomaly.observed == 0.2
    assert f"{2 * windows} of {10 * windows} requests over the last {windows} windows" in (
        anomaly.explanation
    )


def test_a_ramp_is_not_learned_and_fires_before_it_triples() -> None:
    """The median grows 4% a window: each window is a little slower than the baseline learned
    from the ones before, but the run of slow requests keeps it from being learned, so the
    ramp is reported while its level is still where it started."""
    rng = random.Random(7)
    run = steady_run(rng, 30, count=50, counted=True)
    level = run.baselines[PAYMENT].level_ms
    reported = None
    for step in range(60):
        median = 100.0 * 1.04**step
        found = run.cycle(
            [run.window(lognormal(rng, median, 50), index=30 + step)], index=30 + step
        )
        if found:
            reported = (median, found)
            break
    assert reported is not None, "a ramp to 10x was never reported"
    median, [anomaly] = reported
    assert anomaly.type is AnomalyType.LATENCY
    assert median < 3 * level
    assert run.baselines[PAYMENT].level_ms < 1.3 * level


def test_a_lasting_modest_change_is_learned_after_the_hold() -> None:
    """A third of the requests past the 2x bar for good, short of the far one (never a majority,
    never proof): a run spans at most `evidence_windows` windows and the window after it is
    learned, so the key takes the change as its new normal in the end."""
    rng = random.Random(8)
    run = steady_run(rng, 30, count=50, counted=True)
    learned_before = run.baselines[PAYMENT].windows
    assert request_threshold(run.baselines[PAYMENT], CONFIG) > 215.0
    for i in range(30, 30 + 4 * CONFIG.evidence_windows):
        latencies = lognormal(rng, 100.0, 50)
        for j in range(16):
            latencies[j] = 215.0
        run.cycle([run.window(latencies, index=i)], index=i)
    assert run.anomalies == []
    assert run.baselines[PAYMENT].windows > learned_before


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rate=st.floats(0.5, 30.0))
def test_ordinary_traffic_never_adds_up_to_an_anomaly(seed: int, rate: float) -> None:
    """Hours of ordinary windows, a handful of requests to dozens, never accumulate to a
    report: under the usual shares a run is as improbable as the detectors' p-values."""
    rng = random.Random(seed)
    run = Run()
    for i in range(400):
        run.cycle([run.window(lognormal(rng, 100.0, poisson(rng, rate)), index=i)], index=i)
    assert run.anomalies == []


counts = st.integers(-5, 10**9)


@settings(max_examples=200)
@given(count=counts, slow=counts, far=counts, errors=counts, adjacent=st.booleans())
def test_any_counts_fold_into_a_finite_nonnegative_run(
    count: int, slow: int, far: int, errors: int, adjacent: bool
) -> None:
    """Zeros, negatives, more hits than requests, billions: a run is finite and at least 0,
    and never counts more hits than requests."""
    rng = random.Random(1)
    baseline = steady_run(rng, 12, count=20, counted=True).baselines[PAYMENT]
    start = at(12)
    if adjacent:
        prior = Evidence(Tally(5.0, 10, 3, 2), Tally(5.0, 10, 3, 2), start)
        baseline = dataclasses.replace(baseline, evidence=prior)
    window = WindowStats(
        PAYMENT, start, at(13), count, errors, 0, 100.0, 100.0, 150.0, 200.0,
        slow_count=slow, far_count=far,
    )  # fmt: skip
    evidence = accumulate(baseline, window, CONFIG)
    for tally in (evidence.slow, evidence.partial, evidence.failed):
        assert math.isfinite(tally.llr)
        assert tally.llr >= 0
        assert 0 <= tally.hits <= tally.count
    assert isinstance(holds(evidence, CONFIG), bool)


def test_an_empty_window_does_not_end_a_run_but_counts_towards_its_length() -> None:
    """A quiet key sends nothing for a window: its run of failures carries on across the gap
    (three windows long), and a gap as long as a whole run starts it afresh."""
    run, i = quiet_key(random.Random(31), count=10)
    baseline = run.baselines[PAYMENT]
    first = accumulate(baseline, run.window(lognormal(random.Random(1), 100.0, 10), index=i,
                                            errors=2), CONFIG)  # fmt: skip
    assert first.failed.windows == 1
    carried = dataclasses.replace(baseline, evidence=first)
    after_gap = run.window(lognormal(random.Random(2), 100.0, 10), index=i + 2, errors=2)
    failed = accumulate(carried, after_gap, CONFIG).failed
    assert (failed.count, failed.hits, failed.windows) == (20, 4, 3)
    much_later = run.window([100.0] * 10, index=i + 1 + CONFIG.evidence_windows, errors=2)
    assert accumulate(carried, much_later, CONFIG).failed.windows == 1


def test_a_run_of_most_requests_slow_is_not_reported_on_a_window_whose_median_is_usual() -> None:
    """ "Most requests are slow" must be true of the window it is reported on: a run that
    says so waits for a window whose median is past the bar."""
    run, i = quiet_key(random.Random(32), count=10)
    baseline = run.baselines[PAYMENT]
    leaning = Evidence(slow=Tally(llr=100.0, count=60, hits=50, windows=6), end=at(i))
    primed = {PAYMENT: dataclasses.replace(baseline, evidence=leaning)}
    usual = run.window([100.0] * 10, index=i)
    assert detect_accumulated([usual], primed, CONFIG) == []
    slow = run.window([300.0] * 10, index=i)
    [anomaly] = detect_accumulated([slow], primed, CONFIG)
    assert "most requests are slow" in anomaly.explanation
