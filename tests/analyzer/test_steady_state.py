"""Normal, noisy traffic raises nothing over a long run; a real fault in it still fires."""

from __future__ import annotations

import random

import pytest

from aiops_engine.detection import AnomalyType, SeriesKey, WindowStats, count_bars

from .synthetic import (
    CHECKOUT,
    CHECKOUT_TO_PAYMENT,
    CONFIG,
    PAYMENT,
    Run,
    lognormal,
    poisson,
    window_of,
)

INVENTORY = SeriesKey.endpoint("inventory", "/inventory/{sku}")
RARE = SeriesKey.endpoint("inventory", "/inventory")

# key: (requests per 10 s window, median ms, log-normal sigma)
TRAFFIC = {
    CHECKOUT: (100.0, 35.0, 0.4),
    CHECKOUT_TO_PAYMENT: (100.0, 12.0, 0.35),
    PAYMENT: (100.0, 10.0, 0.3),
    INVENTORY: (30.0, 3.0, 0.5),
    RARE: (3.0, 4.0, 0.5),  # idle: most windows under min_samples, many empty
}


def noisy_windows(
    rng: random.Random, index: int, run: Run, *, payment_delay_ms: float = 0.0
) -> list[WindowStats]:
    """A window per key: Poisson counts, log-normal latencies, rare lone slow requests and 500s;
    slow requests counted against the run's bars, as the analyzer's query counts them."""
    bars = count_bars(run.baselines, CONFIG)
    windows = []
    for key, (rate, median, sigma) in TRAFFIC.items():
        count = poisson(rng, rate)
        if not count:
            continue
        if key in (PAYMENT, CHECKOUT_TO_PAYMENT):
            median += payment_delay_ms
        latencies = [
            latency * 20 if rng.random() < 0.005 else latency
            for latency in lognormal(rng, median, count, sigma)
        ]
        errors = sum(rng.random() < 0.003 for _ in range(count))
        windows.append(
            window_of(latencies, index=index, key=key, errors=errors, bars=bars.get(key))
        )
    return windows


def test_500_windows_of_noisy_normal_traffic_produce_zero_anomalies() -> None:
    """83 minutes of jitter, lone slow requests and single 500s: nothing reported, all learned."""
    rng = random.Random(20250101)
    run = Run()
    for index in range(500):
        run.cycle(noisy_windows(rng, index, run), index=index)
    assert run.anomalies == []
    for key in (CHECKOUT, CHECKOUT_TO_PAYMENT, PAYMENT, INVENTORY):
        _, median, _ = TRAFFIC[key]
        assert run.baselines[key].windows > 450
        assert run.baselines[key].level_ms == pytest.approx(median, rel=0.1)


def test_the_same_noisy_traffic_still_reveals_an_injected_2_s_delay() -> None:
    """The quiet above is not blindness: +2 s on payment fires on its endpoint and its edge."""
    rng = random.Random(20250101)
    run = Run()
    for index in range(100):
        run.cycle(noisy_windows(rng, index, run), index=index)
    found = run.cycle(noisy_windows(rng, 100, run, payment_delay_ms=2000.0), index=100)
    assert {(a.type, a.key) for a in found} == {
        (AnomalyType.LATENCY, PAYMENT),
        (AnomalyType.LATENCY, CHECKOUT_TO_PAYMENT),
    }
    assert all(0.9 < a.score <= 1.0 for a in found)
