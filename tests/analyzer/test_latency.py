"""Latency anomalies: past baseline x multiplier, significant, on enough samples.

Windows here are counted against the key's bars as the analyzer counts them
(`counted`), or not (built by hand, judged by their median), or both.
"""

from __future__ import annotations

import random

import pytest

from aiops_engine.detection import (
    AnomalyType,
    Baseline,
    DetectionConfig,
    SeriesKey,
    detect_latency,
)

from .synthetic import CONFIG, PAYMENT, at, lognormal, steady_run, window_of


def baseline(level_ms: float, spread_ms: float, *, windows: int = 100) -> Baseline:
    return Baseline(PAYMENT, level_ms, spread_ms, 10.0, 0.0, 10_000, windows, at(100))


@pytest.mark.parametrize("counted", [True, False], ids=["counted", "median"])
def test_a_step_past_twice_the_baseline_fires_with_its_explanation(counted: bool) -> None:
    """100 → 400 ms median: one latency anomaly with observed, baseline, threshold (the
    baseline x the multiplier, 2), traces."""
    rng = random.Random(2)
    run = steady_run(rng, 30, counted=counted)
    slow = run.window(lognormal(rng, 400.0, 100), index=30, counted=counted)
    assert (slow.slow_count is not None) is counted
    [anomaly] = run.cycle([slow], index=30)
    assert anomaly.type is AnomalyType.LATENCY
    assert anomaly.key == PAYMENT
    assert anomaly.observed == slow.p50_ms
    assert anomaly.baseline == pytest.approx(100.0, rel=0.05)
    assert anomaly.baseline is not None
    assert anomaly.threshold == pytest.approx(CONFIG.latency_multiplier * anomaly.baseline)
    assert CONFIG.latency_multiplier == 2.0
    assert (anomaly.window_start, anomaly.window_end, anomaly.sample_count) == (at(30), at(31), 100)
    assert anomaly.sample_trace_ids == slow.sample_trace_ids
    assert 0.5 < anomaly.score < 1.0
    assert "payment /payment" in anomaly.explanation
    assert "baseline" in anomaly.explanation


@pytest.mark.parametrize("counted", [True, False], ids=["counted", "median"])
def test_a_step_below_the_multiplier_does_not_fire(counted: bool) -> None:
    """1.5x slower is degradation tolerated below the 2x multiplier: no anomaly (while 2.5x,
    tolerated at the seed's 3x, now fires)."""
    rng = random.Random(3)
    run = steady_run(rng, 30, counted=counted)
    below = run.window(lognormal(rng, 150.0, 100), index=30, counted=counted)
    assert run.cycle([below], index=30) == []
    past = run.window(lognormal(rng, 250.0, 100), index=31, counted=counted)
    assert [a.type for a in run.cycle([past], index=31)] == [AnomalyType.LATENCY]


def test_a_slow_ramp_is_followed_then_a_jump_past_the_multiplier_fires() -> None:
    """Seed's gradual degradation: 100 → 600 ms over 200 windows is learned, then 3.5x fires."""
    rng = random.Random(4)
    run = steady_run(rng, 20)
    for index in range(20, 220):
        median = 100.0 * 6.0 ** ((index - 20) / 199)
        run.cycle([window_of(lognormal(rng, median, 100), index=index)], index=index)
    assert run.anomalies == []
    assert run.baselines[PAYMENT].level_ms == pytest.approx(600.0, rel=0.15)

    [anomaly] = run.cycle([window_of(lognormal(rng, 2100.0, 100), index=220)], index=220)
    assert anomaly.type is AnomalyType.LATENCY
    assert anomaly.baseline == pytest.approx(600.0, rel=0.15)


def test_one_slow_request_in_a_window_does_not_fire() -> None:
    """A single 100x request, in a window of 5 or of 100, leaves the median alone: no anomaly."""
    rng = random.Random(5)
    run = steady_run(rng, 30)
    # Five requests would also be a silence for 100-a-window traffic, so judge latency alone.
    few = window_of([*lognormal(rng, 100.0, 4), 10_000.0], index=30)
    assert detect_latency([few], run.baselines, CONFIG) == []
    many = window_of([*lognormal(rng, 100.0, 99), 10_000.0], index=30)
    assert run.cycle([many], index=30) == []


def test_a_warming_baseline_judges_only_big_jumps_and_learns_none() -> None:
    """Cold start: after 2 windows a 20x window fires, a 4x one (fires once established)
    passes unlearned-in-full (winsorized); one window alone judges nothing."""
    rng = random.Random(6)
    run = steady_run(rng, 1)
    assert run.cycle([window_of(lognormal(rng, 2000.0, 100), index=1)], index=1) == []
    run = steady_run(rng, 2)
    [anomaly] = run.cycle([window_of(lognormal(rng, 2000.0, 100), index=2)], index=2)
    assert anomaly.type is AnomalyType.LATENCY
    assert "still learning: 2 windows" in anomaly.explanation
    assert run.baselines[PAYMENT].windows == 2  # the faulty window is not learned

    run = steady_run(rng, 5)
    assert run.cycle([window_of(lognormal(rng, 400.0, 100), index=5)], index=5) == []
    assert run.baselines[PAYMENT].level_ms < 200.0  # a 4x window moved it by a sixth at most
    run = steady_run(rng, 10)
    assert [
        a.type for a in run.cycle([window_of(lognormal(rng, 400.0, 100), index=10)], index=10)
    ] == [AnomalyType.LATENCY]


def test_four_slow_requests_are_not_judged_five_are() -> None:
    """min_samples=5 applies to latency too."""
    known = {PAYMENT: baseline(100.0, 10.0)}
    assert detect_latency([window_of([900.0] * 4, index=100)], known, CONFIG) == []
    [anomaly] = detect_latency([window_of([900.0] * 5, index=100)], known, CONFIG)
    assert anomaly.sample_count == 5


def test_a_jump_within_the_noise_is_not_significant() -> None:
    """A window not counted request by request is judged by its median: 3.5x a level whose
    windows swing by 80 ms is only 3 spreads up: below z=4, no anomaly; over a steady level
    the bar is the level x the multiplier."""
    window = window_of([350.0] * 50, index=100)
    assert detect_latency([window], {PAYMENT: baseline(100.0, 80.0)}, CONFIG) == []
    [anomaly] = detect_latency([window], {PAYMENT: baseline(100.0, 10.0)}, CONFIG)
    assert anomaly.threshold == pytest.approx(200.0)


def test_a_counted_jump_within_a_wobbly_keys_noise_is_not_significant() -> None:
    """Requests of one window are not independent: every one of 50 past the 2x bar is proof
    only if the median also left the key's usual wobble. 3.5x a level whose windows swing by
    80 ms is 3 spreads up: no anomaly; over a steady level, the same window fires."""
    window = window_of([350.0] * 50, index=100, bars=(200.0, 1000.0))
    assert window.slow_count == 50
    assert detect_latency([window], {PAYMENT: baseline(100.0, 80.0)}, CONFIG) == []
    [anomaly] = detect_latency([window], {PAYMENT: baseline(100.0, 10.0)}, CONFIG)
    assert anomaly.threshold == pytest.approx(200.0)


def test_tripling_a_sub_millisecond_span_is_noise() -> None:
    """min_latency_ms: 0.5 → 2 ms is 4x but under 5 ms, so not reported."""
    key = SeriesKey.edge("inventory", "postgres")
    tiny = Baseline(key, 0.5, 0.05, 50.0, 0.0, 50_000, 100, at(100))
    window = window_of([2.0] * 50, index=100, key=key)
    assert detect_latency([window], {key: tiny}, CONFIG) == []
    assert detect_latency([window], {key: tiny}, DetectionConfig(min_latency_ms=1.0)) != []


def test_a_ten_minute_fault_does_not_become_the_new_normal() -> None:
    """60 windows at 2 s all fire and none is learned; afterwards normal traffic is quiet again."""
    rng = random.Random(7)
    run = steady_run(rng, 60)
    before = run.baselines[PAYMENT]
    for index in range(60, 120):
        found = run.cycle([window_of(lognormal(rng, 2000.0, 100), index=index)], index=index)
        assert [a.type for a in found] == [AnomalyType.LATENCY], index
    assert run.baselines[PAYMENT] == before
    for index in range(120, 130):
        assert run.cycle([window_of(lognormal(rng, 100.0, 100), index=index)], index=index) == []
