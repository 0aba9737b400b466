"""Latency judged by counting requests: a fault on some requests, a busy burst, a slow mode.

Windows are counted against the key's two bars (`count_bars`) as the
analyzer's query counts them: slow past level x multiplier, far slow past
one request's bar, far out in the key's own tail.
"""

from __future__ import annotations

import math
import random

import pytest

from aiops_engine.detection import (
    AnomalyType,
    count_bars,
    detect_latency,
    is_established,
    latency_threshold,
    request_threshold,
)

from .synthetic import CONFIG, PAYMENT, Run, lognormal, poisson, steady_run, window_of


def partly_slow(rng: random.Random, count: int, share: float, extra_ms: float) -> list[float]:
    """`count` normal requests around 100 ms, `share` of them `extra_ms` slower."""
    latencies = lognormal(rng, 100.0, count)
    for i in rng.sample(range(count), round(share * count)):
        latencies[i] += extra_ms
    return latencies


def test_a_fault_on_a_fifth_of_a_busy_keys_requests_fires_as_some_requests_slow() -> None:
    """20% of 200 requests a window take 900 ms more: the median barely moves (below the
    2x bar, so judging it alone finds nothing), but 40 far slow requests where about 1 is
    usual fire every window as "some requests are slow", and none is learned."""
    rng = random.Random(31)
    run = steady_run(rng, 30, count=200, counted=True)
    before = run.baselines[PAYMENT]
    far_bar = request_threshold(before, CONFIG)
    for index in range(30, 36):
        window = run.window(partly_slow(rng, 200, 0.2, 900.0), index=index)
        assert window.p50_ms < latency_threshold(before, CONFIG)  # the median holds
        uncounted = window_of(partly_slow(rng, 200, 0.2, 900.0), index=index)
        assert detect_latency([uncounted], run.baselines, CONFIG) == []
        [anomaly] = run.cycle([window], index=index)
        assert anomaly.type is AnomalyType.LATENCY
        assert anomaly.key == PAYMENT
        assert (anomaly.observed, anomaly.threshold) == (window.p95_ms, far_bar)
        assert anomaly.baseline == before.tail_ms
        assert f"{window.far_count} of 200 requests" in anomaly.explanation
        assert "some requests are slow" in anomaly.explanation
        assert window.far_count is not None
        assert window.far_count >= 0.18 * 200
    assert run.baselines[PAYMENT] == before  # a fault on part of the traffic is not learned
    assert run.cycle([run.window(lognormal(rng, 100.0, 200), index=36)], index=36) == []


def test_a_fault_on_a_fifth_of_the_requests_is_not_judged_while_the_key_is_learning() -> None:
    """The same fault from the second window on raises nothing until the baseline is
    established: a young key's tail is barely known, and its median did not move."""
    rng = random.Random(32)
    run = steady_run(rng, CONFIG.warmup_windows, count=200, counted=True)
    index = CONFIG.warmup_windows
    while not is_established(run.baselines[PAYMENT], CONFIG):
        latencies = partly_slow(rng, 200, 0.2, 900.0)
        assert sum(latency > 900.0 for latency in latencies) >= 0.18 * 200
        assert run.cycle([run.window(latencies, index=index)], index=index) == [], index
        index += 1
        assert index < 40, "learning never ends"


def test_a_busy_burst_of_slightly_slower_requests_raises_nothing() -> None:
    """A burst of 5x the traffic where 40% of the requests are a bit slower (past the
    level x 2 bar, short of the far one) and the median holds: load, not a fault. Every
    request slower past the bar still fires afterwards."""
    rng = random.Random(33)
    run = steady_run(rng, 30, count=100, counted=True)
    for index in range(30, 40):
        slow_bar, far_bar = count_bars(run.baselines, CONFIG)[PAYMENT]
        latencies = lognormal(rng, 100.0, 500)
        for i in rng.sample(range(500), 200):
            latencies[i] = rng.uniform(slow_bar * 1.02, far_bar * 0.98)
        window = run.window(latencies, index=index)
        assert window.slow_count is not None
        assert window.slow_count >= 200
        assert window.far_count is not None
        assert window.far_count <= 0.02 * 500
        assert window.p50_ms < slow_bar
        assert run.cycle([window], index=index) == [], index
    slower = run.window(lognormal(rng, 300.0, 100), index=40)
    assert [a.type for a in run.cycle([slower], index=40)] == [AnomalyType.LATENCY]


def test_a_key_with_a_slow_mode_of_its_own_raises_nothing_while_its_median_flips() -> None:
    """A cache in front of a slow store: 85% of requests take ~40 ms, 15% ~400 ms, a handful
    a window. Over 600 windows some windows' medians land in the slow mode (most of their
    few requests missed the cache), which is chance at the key's learned 15% slow share:
    nothing fires. A slowdown of every request still does."""
    rng = random.Random(34)
    run = Run()
    flips = 0
    for index in range(600):
        count = poisson(rng, 8.0)
        latencies = [
            rng.lognormvariate(math.log(400.0 if rng.random() < 0.15 else 40.0), 0.2)
            for _ in range(count)
        ]
        window = run.window(latencies, index=index)
        baseline = run.baselines.get(PAYMENT)
        if baseline is not None and is_established(baseline, CONFIG) and count >= 5:
            flips += window.p50_ms > latency_threshold(baseline, CONFIG)
        assert run.cycle([window], index=index) == [], index
    assert flips >= 3  # the median did flip, now and then
    baseline = run.baselines[PAYMENT]
    assert baseline.level_ms == pytest.approx(40.0, rel=0.25)
    assert 0.08 < baseline.slow_rate < 0.25  # the slow mode, learned as the key's normal
    down = [latency * 10 for latency in lognormal(rng, 40.0, 20)]
    assert [a.type for a in run.cycle([run.window(down, index=600)], index=600)] == [
        AnomalyType.LATENCY
    ]
