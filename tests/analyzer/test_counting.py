"""Counted windows: held when suspicious alone, judged with the next; a cold start's bar.

A low-traffic key's handful of requests is suggestive, not proof: a window
improbable enough to doubt (`hold_p_value`) but not to report
(`slow_p_value`, `error_p_value`) is held in the baseline, not learned, and
the next window is judged together with it.
"""

from __future__ import annotations

import random

import pytest

from aiops_engine.detection import (
    AnomalyType,
    Baseline,
    count_bars,
    counts,
    error_chance,
    is_established,
    is_warm,
    latency_threshold,
    request_threshold,
    slow_chance,
    warmup_threshold,
)

from .synthetic import CONFIG, PAYMENT, Run, at, lognormal, steady_run

# A low-traffic key with a heavy tail: about 6 requests a window around 100 ms, one in
# twelve past its 200 ms bar (log spread 0.5: p95 228 ms), learned long ago.
QUIET = Baseline(
    key=PAYMENT,
    level_ms=100.0,
    spread_ms=10.0,
    rate_per_s=0.6,
    error_rate=0.0,
    samples=6_000,
    windows=1_000,
    updated_at=at(100),
    tail_ms=227.6,
    slow_rate=0.08,
    far_rate=0.001,
)
FIVE_OF_SIX_SLOW = [100.0, 300.0, 310.0, 320.0, 330.0, 340.0]  # slow, not far slow


def quiet_run() -> Run:
    return Run(baselines={PAYMENT: QUIET})


def learned_run(rng: random.Random, windows: int) -> tuple[Run, int]:
    """Normal busy windows, counted, until the baseline has learned `windows` of them (a
    window held by chance is not learned); with the index of the next window."""
    run, index = Run(), 0
    while PAYMENT not in run.baselines or run.baselines[PAYMENT].windows < windows:
        run.cycle([run.window(lognormal(rng, 100.0, 100), index=index)], index=index)
        index += 1
    assert run.anomalies == []
    return run, index


def test_five_slow_requests_of_six_are_held_not_reported_nor_learned() -> None:
    """At this key's usual slow share, 5 of 6 happen about once in 50,000 windows alone: too
    likely to report at 1e-6, too unlikely to learn as normal. The window is held."""
    run = quiet_run()
    slow_bar, far_bar = count_bars(run.baselines, CONFIG)[PAYMENT]
    assert slow_bar == 200.0
    assert far_bar == pytest.approx(request_threshold(QUIET, CONFIG))
    window = run.window(FIVE_OF_SIX_SLOW, index=100)
    assert (window.slow_count, window.far_count) == (5, 0)
    alone = slow_chance(counts(window, QUIET), QUIET, CONFIG)
    assert CONFIG.slow_p_value < alone < CONFIG.hold_p_value
    assert run.cycle([window], index=100) == []
    held = run.baselines[PAYMENT]
    assert (held.held_count, held.held_slow, held.held_far, held.held_end) == (6, 5, 0, at(101))
    assert (held.windows, held.level_ms, held.updated_at) == (1_000, 100.0, at(100))


def test_the_next_similar_window_fires_with_the_pooled_counts() -> None:
    """Another 5 of 6 right after: 10 of 12 over two windows is far beyond chance, a latency
    anomaly on the second window; neither window is learned and the hold is let go."""
    run = quiet_run()
    run.cycle([run.window(FIVE_OF_SIX_SLOW, index=100)], index=100)
    window = run.window(FIVE_OF_SIX_SLOW, index=101)
    baseline = run.baselines[PAYMENT]
    pooled = counts(window, baseline)
    assert (pooled.count, pooled.slow, pooled.windows) == (12, 10, 2)
    assert slow_chance(pooled, baseline, CONFIG) < CONFIG.slow_p_value
    [anomaly] = run.cycle([window], index=101)
    assert (anomaly.type, anomaly.key, anomaly.observed) == (
        AnomalyType.LATENCY,
        PAYMENT,
        window.p50_ms,
    )
    assert anomaly.threshold == latency_threshold(QUIET, CONFIG)
    after = run.baselines[PAYMENT]
    assert after.held_end is None
    assert (after.windows, after.level_ms, after.slow_rate) == (1_000, 100.0, 0.08)


def test_a_normal_next_window_releases_the_hold_and_is_learned() -> None:
    """A fluke: the next window is ordinary, 5 of 12 is no majority; it is learned (the held
    window is not) and the hold let go."""
    run = quiet_run()
    run.cycle([run.window(FIVE_OF_SIX_SLOW, index=100)], index=100)
    normal = run.window([90.0, 95.0, 100.0, 105.0, 110.0, 120.0], index=101)
    assert run.cycle([normal], index=101) == []
    after = run.baselines[PAYMENT]
    assert after.held_end is None
    assert (after.held_count, after.held_slow) == (0, 0)
    assert (after.windows, after.samples, after.updated_at) == (1_001, 6_006, at(102))
    assert after.slow_rate < QUIET.slow_rate  # learned from the normal window alone


def test_a_held_window_is_judged_alone_when_the_next_is_not_adjacent() -> None:
    """Held windows pool only with the window right after them: one a cycle later is counted
    alone; what reports the two is the evidence run, which an empty window does not end."""
    run = quiet_run()
    run.cycle([run.window(FIVE_OF_SIX_SLOW, index=100)], index=100)
    later = run.window(FIVE_OF_SIX_SLOW, index=102)
    assert counts(later, run.baselines[PAYMENT]).windows == 1
    [anomaly] = run.cycle([later], index=102)
    assert "10 of 12 requests over the last 3 windows" in anomaly.explanation


def test_failures_are_pooled_with_a_held_window_too() -> None:
    """3 failures in 6 requests happen once in 50,000 windows at a 1% usual error rate: held;
    3 more in the next 6 make 6 of 12 over two windows, an error spike."""
    run = quiet_run()
    fine = [100.0] * 6
    first = run.window(fine, index=100, errors=3)
    assert CONFIG.error_p_value < error_chance(counts(first, QUIET), QUIET, CONFIG)
    assert error_chance(counts(first, QUIET), QUIET, CONFIG) < CONFIG.hold_p_value
    assert run.cycle([first], index=100) == []
    assert run.baselines[PAYMENT].held_errors == 3
    [anomaly] = run.cycle([run.window(fine, index=101, errors=3)], index=101)
    assert anomaly.type is AnomalyType.ERROR_SPIKE
    assert anomaly.observed == 0.5
    assert "6 of 12 requests over the last 2 windows failed (50%" in anomaly.explanation
    assert run.baselines[PAYMENT].held_end is None


@pytest.mark.parametrize("age", range(CONFIG.warmup_windows, CONFIG.min_windows))
def test_two_20x_windows_fire_while_learning_and_are_not_learned(age: int) -> None:
    """Cold start: from 2 learned windows on, a window 20x slower (past level x 5) is held,
    and a second one in a row is a latency anomaly that says it is still learning; neither
    is learned."""
    rng = random.Random(age)
    run, index = learned_run(rng, age)
    before = run.baselines[PAYMENT]
    assert is_warm(before, CONFIG)
    assert not is_established(before, CONFIG)
    assert run.cycle([run.window(lognormal(rng, 2000.0, 100), index=index)], index=index) == []
    assert run.baselines[PAYMENT].held_count == 100
    index += 1
    window = run.window(lognormal(rng, 2000.0, 100), index=index)
    [anomaly] = run.cycle([window], index=index)
    assert anomaly.type is AnomalyType.LATENCY
    assert anomaly.threshold == warmup_threshold(before, CONFIG)
    assert f"still learning: {before.windows} windows" in anomaly.explanation
    assert run.baselines[PAYMENT] == before


def test_one_slow_window_while_learning_is_held_then_a_normal_one_learned() -> None:
    """Cold start: a single window 20x slower (a process still warming up) is not reported;
    it is held, and the ordinary window after it is learned as usual."""
    rng = random.Random(7)
    run, index = learned_run(rng, CONFIG.warmup_windows)
    before = run.baselines[PAYMENT]
    assert run.cycle([run.window(lognormal(rng, 2000.0, 100), index=index)], index=index) == []
    assert (
        run.cycle([run.window(lognormal(rng, 100.0, 100), index=index + 1)], index=index + 1) == []
    )
    after = run.baselines[PAYMENT]
    assert after.held_end is None
    assert after.windows == before.windows + 1


@pytest.mark.parametrize("age", range(CONFIG.warmup_windows, CONFIG.min_windows))
def test_a_3x_window_does_not_fire_while_learning(age: int) -> None:
    """Cold start: every request 3x slower is past level x 2 but not past level x 5, what a
    young baseline needs; once established, the same step fires."""
    rng = random.Random(100 + age)
    run, index = learned_run(rng, age)
    assert not is_established(run.baselines[PAYMENT], CONFIG)
    window = run.window(lognormal(rng, 300.0, 100), index=index)
    assert window.slow_count is not None
    assert window.slow_count > 80  # the median moved
    assert run.cycle([window], index=index) == []

    run, index = learned_run(rng, CONFIG.min_windows)
    assert is_established(run.baselines[PAYMENT], CONFIG)
    window = run.window(lognormal(rng, 300.0, 100), index=index)
    assert [a.type for a in run.cycle([window], index=index)] == [AnomalyType.LATENCY]


def test_nothing_is_judged_after_a_single_learned_window() -> None:
    """One window teaches too little to judge by: a 20x window after it passes."""
    rng = random.Random(1)
    run = steady_run(rng, 1, counted=True)
    assert not is_warm(run.baselines[PAYMENT], CONFIG)
    assert run.cycle([run.window(lognormal(rng, 2000.0, 100), index=1)], index=1) == []
