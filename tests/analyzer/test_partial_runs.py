"""Some requests slow, window after window: a partial fault on a quiet endpoint is found
over a run of windows, while a system slower all over is not taken for one
(detection.evidence: the `partial` run, `system_slowing`, `own_slowing`)."""

from __future__ import annotations

import dataclasses
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from aiops_engine.detection import (
    AnomalyType,
    Baseline,
    SeriesKey,
    WindowStats,
    accumulate,
    detect_latency,
    own_slowing,
    request_threshold,
    system_slowing,
    tells_far,
    update_baseline,
    usual_far_share,
)

from .synthetic import CONFIG, PAYMENT, at, lognormal, steady_run, window_of


def test_a_tenth_of_a_quiet_endpoints_requests_slow_is_reported_from_the_run() -> None:
    """Ten requests a window, about one in seven eight times slower, the median where it
    was: no window alone proves it, the run of them does, as some requests slow."""
    rng = random.Random(11)
    run = steady_run(rng, 40, count=10, counted=True)
    assert run.anomalies == []
    found = []
    for i in range(40, 40 + 3 * CONFIG.evidence_windows):
        latencies = [v * 8 if rng.random() < 0.15 else v for v in lognormal(rng, 100.0, 10)]
        window = run.window(latencies, index=i)
        assert detect_latency([window], run.baselines, CONFIG) == []
        found = run.cycle([window], index=i)
        if found:
            break
    assert found, "a partial fault on a seventh of the requests was never reported"
    [anomaly] = found
    assert anomaly.type is AnomalyType.LATENCY
    assert "some requests are slow" in anomaly.explanation
    assert "over the last" in anomaly.explanation


def test_a_quiet_keys_slow_share_is_learned_over_requests_not_windows() -> None:
    """A minute of a fifth of five requests past the far bar barely moves what a key learned
    its far share to be: a partial fault does not become its normal in a few windows."""
    rng = random.Random(12)
    run = steady_run(rng, 200, count=5, counted=True)
    before = run.baselines[PAYMENT]
    baseline: Baseline | None = before
    far = request_threshold(before, CONFIG)
    for i in range(200, 212):
        latencies = [far * 2, *lognormal(rng, 100.0, 4)]
        bars = (far, far)
        baseline = update_baseline(baseline, window_of(latencies, index=i, bars=bars), CONFIG)
    assert baseline is not None
    assert baseline.far_rate < before.far_rate + 0.05


def _window(key: SeriesKey, p50_ms: float, count: int = 20) -> WindowStats:
    return WindowStats(key, at(50), at(51), count, 0, 0, p50_ms, p50_ms, p50_ms, p50_ms)


def _baselines(keys: list[SeriesKey]) -> dict[SeriesKey, Baseline]:
    known = steady_run(random.Random(13), 20, counted=True).baselines[PAYMENT]
    return {key: dataclasses.replace(known, key=key, level_ms=100.0) for key in keys}


KEYS = [SeriesKey.endpoint(f"svc-{i}", "/work") for i in range(9)]


def test_one_slow_service_does_not_make_the_system_slow() -> None:
    """The system's slowing is the median key's: one key ten times slower leaves it at 1,
    every key half as slow again makes it 1.5."""
    baselines = _baselines(KEYS)
    one_slow = [_window(key, 1000.0 if i == 0 else 100.0) for i, key in enumerate(KEYS)]
    assert system_slowing(one_slow, baselines, CONFIG) == 1.0
    all_slow = [_window(key, 150.0) for key in KEYS]
    assert system_slowing(all_slow, baselines, CONFIG) == 1.5


@settings(max_examples=100)
@given(ratios=st.lists(st.floats(0.0, 1e6), max_size=12), counts=st.integers(0, 50))
def test_the_system_slowing_is_at_least_one_and_finite(ratios: list[float], counts: int) -> None:
    """Any medians, zero to huge, any request counts: a finite slowing of at least 1."""
    keys = KEYS[: len(ratios)] + [SeriesKey.endpoint("x", str(i)) for i in range(len(ratios))]
    baselines = _baselines(keys)
    windows = [_window(key, 100.0 * r, counts) for key, r in zip(keys, ratios, strict=False)]
    slowing = system_slowing(windows, baselines, CONFIG)
    assert 1.0 <= slowing < float("inf")


def test_a_handful_of_requests_is_judged_at_the_systems_slowing_not_its_own_median() -> None:
    """Two requests, one of them slow, make their own median: a window that small is judged
    at the system's slowing, a fuller one at its own median if that is slower still."""
    [baseline] = _baselines([PAYMENT]).values()
    small = _window(PAYMENT, 450.0, count=CONFIG.min_samples - 1)
    assert own_slowing(small, baseline, CONFIG, 1.2) == 1.2
    full = _window(PAYMENT, 130.0, count=CONFIG.min_samples)
    assert own_slowing(full, baseline, CONFIG, 1.2) == 1.3
    assert own_slowing(full, baseline, CONFIG, 2.0) == 2.0


def test_far_slow_requests_of_a_system_slower_all_over_add_nothing_to_a_run() -> None:
    """The same far slow requests that start a partial run at the usual pace start none
    when the whole system runs twice as slow: they are its busy spell's tail."""
    [baseline] = _baselines([PAYMENT]).values()
    window = dataclasses.replace(_window(PAYMENT, 100.0, count=3), slow_count=1, far_count=1)
    assert accumulate(baseline, window, CONFIG, 1.0).partial.llr > 0
    assert accumulate(baseline, window, CONFIG, 2.0).partial.llr == 0


def test_a_few_ms_keys_jitter_is_no_partial_fault() -> None:
    """A 3 ms key's far bar is a few ms past its level: a fifth of its requests at 8 ms,
    window after window, is jitter at that scale, and raises nothing; at 100 ms it would."""
    rng = random.Random(14)
    run = steady_run(rng, 40, median_ms=3.0, count=20, counted=True, sigma=0.1)
    assert not tells_far(run.baselines[PAYMENT], CONFIG)
    assert tells_far(_baselines([PAYMENT])[PAYMENT], CONFIG)
    for i in range(40, 40 + 2 * CONFIG.evidence_windows):
        latencies = [8.0 if rng.random() < 0.2 else v for v in lognormal(rng, 3.0, 20, 0.1)]
        assert run.cycle([run.window(latencies, index=i)], index=i) == []


def test_a_quiet_keys_far_share_is_never_below_what_its_few_requests_rule_out() -> None:
    """No far request in 60 learned says only "under 3/60" (the rule of three): the share a
    run is weighed against is at least that; with 60,000 learned, the key's own share."""
    [known] = _baselines([PAYMENT]).values()
    window = _window(PAYMENT, 100.0)
    few = dataclasses.replace(known, samples=60, far_rate=0.0)
    assert usual_far_share(window, few, CONFIG) >= 3 / 60
    many = dataclasses.replace(known, samples=60_000, far_rate=0.0)
    assert usual_far_share(window, many, CONFIG) < 3 / 60
