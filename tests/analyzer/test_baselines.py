"""Baseline learning: EWMA with a spread, warm-up, minimum samples, outliers, anomalies."""

from __future__ import annotations

import dataclasses
import os
import random

import pytest

from aiops_engine.detection import (
    Anomaly,
    AnomalyType,
    Baseline,
    DetectionConfig,
    is_established,
    learn,
    update_baseline,
)
from analyzer.settings import AnalyzerSettings

from .synthetic import CHECKOUT, CONFIG, PAYMENT, at, steady_run, window_of


def established(level_ms: float = 100.0, spread_ms: float = 10.0) -> Baseline:
    return Baseline(
        key=PAYMENT,
        level_ms=level_ms,
        spread_ms=spread_ms,
        rate_per_s=10.0,
        error_rate=0.0,
        samples=10_000,
        windows=100,
        updated_at=at(100),
    )


def test_first_window_starts_a_baseline_at_its_median() -> None:
    """A new key's baseline is its first window's p50, rate and error rate, one window learned."""
    window = window_of([10.0, 20.0, 30.0, 40.0, 1000.0], index=0, errors=1)
    baseline = update_baseline(None, window, CONFIG)
    assert baseline is not None
    assert baseline.level_ms == 30.0
    assert baseline.spread_ms == 0.0
    assert baseline.rate_per_s == pytest.approx(0.5)
    assert baseline.error_rate == pytest.approx(0.2)
    assert (baseline.samples, baseline.windows, baseline.updated_at) == (5, 1, at(1))
    assert not is_established(baseline, CONFIG)


def test_a_window_of_four_requests_teaches_only_traffic_five_teach_latency() -> None:
    """min_samples=5: a 4-request window starts a baseline of traffic alone (level 0, no
    window learned) and moves only the usual rate of one that has a level (an idle stretch's
    trickle is traffic too); 5 move the latency."""
    started = update_baseline(None, window_of([50.0] * 4, index=0), CONFIG)
    assert started is not None
    assert (started.level_ms, started.windows, started.traffic_windows) == (0.0, 0, 1)
    assert started.rate_per_s == pytest.approx(0.4)
    first = update_baseline(started, window_of([50.0] * 6, index=1), CONFIG)
    assert first is not None
    assert (first.level_ms, first.windows, first.traffic_windows) == (50.0, 1, 2)
    assert first.rate_per_s == pytest.approx(0.5)  # both windows' traffic, averaged
    before = established()
    trickle = update_baseline(before, window_of([500.0] * 4, index=101), CONFIG)
    assert trickle is not None
    assert trickle.rate_per_s < before.rate_per_s
    assert (trickle.level_ms, trickle.tail_ms, trickle.windows) == (
        before.level_ms, before.tail_ms, before.windows,
    )  # fmt: skip
    assert update_baseline(trickle, window_of([500.0] * 4, index=101), CONFIG) is trickle
    after = update_baseline(before, window_of([50.0] * 5, index=101), CONFIG)
    assert after is not None
    assert after.level_ms < before.level_ms
    assert after.windows == before.windows + 1


def test_warm_up_weighs_windows_equally_then_uses_alpha() -> None:
    """Until 1/alpha windows the level is the plain mean, so the first window doesn't dominate."""
    first = update_baseline(None, window_of([100.0] * 5, index=0), CONFIG)
    second = update_baseline(first, window_of([200.0] * 5, index=1), CONFIG)
    assert second is not None
    assert second.level_ms == pytest.approx(150.0)
    assert second.spread_ms == pytest.approx(50.0)  # population std of {100, 200}

    late = update_baseline(established(100.0, 10.0), window_of([110.0] * 5, index=101), CONFIG)
    assert late is not None
    assert late.level_ms == pytest.approx(101.0)  # the seed's 0.9 x 100 + 0.1 x 110


def test_an_anomalous_window_is_not_learned() -> None:
    """The caller's verdict wins: a flagged window leaves the baseline exactly as it was."""
    before = established()
    window = window_of([900.0] * 50, index=101)
    assert update_baseline(before, window, CONFIG, anomalous=True) is before


def test_the_same_window_twice_is_learned_once() -> None:
    """A window not newer than the last learned one is ignored (re-delivery after a restart)."""
    before = established()
    once = update_baseline(before, window_of([120.0] * 10, index=100), CONFIG)
    assert once is not None
    assert update_baseline(once, window_of([120.0] * 10, index=100), CONFIG) is once


def test_one_wild_window_moves_an_established_baseline_by_at_most_clamp_sigmas() -> None:
    """Winsorized: a 10x window that escaped detection moves the level <= alpha x 3 spreads."""
    before = established(level_ms=100.0, spread_ms=10.0)
    after = update_baseline(before, window_of([1000.0] * 50, index=101), CONFIG)
    assert after is not None
    assert after.level_ms == pytest.approx(100.0 + 0.1 * 3 * 10.0)


def test_one_slow_request_barely_moves_the_baseline() -> None:
    """The baseline learns window medians, so one 100x request in a window is nearly invisible."""
    run = steady_run(random.Random(1), 30)
    before = run.baselines[PAYMENT]
    run.cycle([window_of([100.0] * 49 + [10_000.0], index=30)], index=30)
    after = run.baselines[PAYMENT]
    assert after.windows == before.windows + 1
    assert abs(after.level_ms - before.level_ms) < 0.02 * before.level_ms


def test_a_window_for_another_key_is_rejected() -> None:
    """Mixing keys is a caller bug, so it raises rather than silently corrupting a baseline."""
    with pytest.raises(ValueError, match="checkout"):
        update_baseline(established(), window_of([1.0] * 5, index=101, key=CHECKOUT), CONFIG)


def test_learn_skips_only_the_keys_an_anomaly_names() -> None:
    """learn() updates every key with a usable window except the flagged ones (whose window
    is only remembered for its hour)."""
    baselines = {PAYMENT: established(), CHECKOUT: dataclasses.replace(established(), key=CHECKOUT)}
    windows = [
        window_of([300.0] * 10, index=101, key=PAYMENT),
        window_of([120.0] * 10, index=101, key=CHECKOUT),
    ]
    flagged = Anomaly(
        AnomalyType.LATENCY, PAYMENT, 300.0, 100.0, 130.0, at(101), at(102), 10, 0.7, (), "slow"
    )
    learned = learn(baselines, windows, [flagged], CONFIG)
    assert (
        dataclasses.replace(learned[PAYMENT], season=baselines[PAYMENT].season)
        == (baselines[PAYMENT])
    )
    assert learned[PAYMENT].season.current is not None
    assert learned[CHECKOUT].windows == 101
    assert baselines[CHECKOUT].windows == 100  # the input mapping is left alone


def test_config_defaults_and_nonsense_is_refused() -> None:
    """The knobs: multiplier 2, error rate 5% (at 1e-6 chance), 5 samples, alpha 0.1; a slow
    share judged at 1e-7 and held at 1e-2; bad values raise."""
    assert (
        CONFIG.latency_multiplier,
        CONFIG.error_rate_threshold,
        CONFIG.error_p_value,
        CONFIG.min_samples,
        CONFIG.ewma_alpha,
    ) == (2.0, 0.05, 1e-6, 5, 0.1)
    assert (CONFIG.slow_p_value, CONFIG.hold_p_value, CONFIG.slow_share_threshold) == (
        1e-7,
        1e-2,
        0.05,
    )
    assert (CONFIG.warmup_windows, CONFIG.min_windows, CONFIG.warmup_multiplier) == (2, 10, 5.0)
    with pytest.raises(ValueError, match="ewma_alpha"):
        DetectionConfig(ewma_alpha=0.0)
    with pytest.raises(ValueError, match="latency_multiplier, min_samples"):
        DetectionConfig(latency_multiplier=1.0, min_samples=0)


def test_the_analyzers_default_settings_are_the_engines_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The knobs the analyzer mirrors (AIOPS_LATENCY_MULTIPLIER, AIOPS_ERROR_RATE_THRESHOLD,
    ...) default to the engine's own, so unset they change nothing."""
    for name in [name for name in os.environ if name.startswith("AIOPS_")]:
        monkeypatch.delenv(name)
    config = AnalyzerSettings().detection()
    assert dataclasses.replace(config, window_seconds=CONFIG.window_seconds) == CONFIG
