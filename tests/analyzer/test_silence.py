"""Silence: steady traffic that goes quiet fires; idle, sparse or retired keys never do."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from aiops_engine.detection import AnomalyType, Baseline, detect_silence

from .synthetic import CONFIG, PAYMENT, Run, at, lognormal, poisson, steady_run, window_of


def test_a_steady_endpoint_that_goes_quiet_fires() -> None:
    """10 req/s, then no rows at all: a silence with observed 0, about 100 expected, score 1."""
    run = steady_run(random.Random(8), 20)
    [anomaly] = run.cycle([], index=20)
    assert anomaly.type is AnomalyType.SILENCE
    assert anomaly.key == PAYMENT
    assert anomaly.observed == 0
    assert anomaly.baseline == pytest.approx(100.0)
    assert anomaly.threshold == pytest.approx(10.0)
    assert (anomaly.window_start, anomaly.window_end) == (at(20), at(21))
    assert anomaly.score == 1.0
    assert "0 requests in 10 s" in anomaly.explanation


def test_a_trickle_far_below_steady_traffic_fires() -> None:
    """3 requests where 100 are usual is a silence, though too few to judge latency."""
    run = steady_run(random.Random(9), 20)
    [anomaly] = run.cycle([window_of([5.0] * 3, index=20)], index=20)
    assert anomaly.type is AnomalyType.SILENCE
    assert anomaly.observed == 3
    assert anomaly.sample_trace_ids  # the few requests that did arrive
    assert anomaly.score == pytest.approx(0.97)


def test_halved_traffic_is_not_silence() -> None:
    """Half the usual load is improbable for a Poisson process, but not quiet: no anomaly."""
    rng = random.Random(10)
    run = steady_run(rng, 20)
    assert run.cycle([window_of(lognormal(rng, 100.0, 50), index=20)], index=20) == []


def test_an_idle_endpoint_with_empty_windows_never_fires() -> None:
    """At 0.7 req/s many windows are empty by chance: 300 windows of it raise nothing."""
    rng = random.Random(11)
    run = Run()
    for index in range(300):
        count = poisson(rng, 7.0)
        run.cycle(
            [window_of(lognormal(rng, 20.0, count), index=index)] if count else [], index=index
        )
    assert run.baselines[PAYMENT].windows >= CONFIG.min_windows  # judged, not skipped
    assert run.anomalies == []


def test_an_idle_endpoint_that_stops_entirely_does_not_fire() -> None:
    """An empty window is unremarkable when the learned rate expects about 6 requests."""
    idle = Baseline(PAYMENT, 20.0, 2.0, 0.6, 0.0, 600, 100, at(100))
    assert detect_silence([], {PAYMENT: idle}, CONFIG, now=at(101)) == []


def test_no_silence_before_the_baseline_is_established() -> None:
    """Nine learned windows are too few to call traffic steady."""
    run = steady_run(random.Random(12), 9)
    assert run.cycle([], index=9) == []


def test_a_retired_endpoint_stops_raising_silence() -> None:
    """A baseline not updated for over silence_forget_s (1 h) is for an endpoint that is gone."""
    steady = Baseline(PAYMENT, 20.0, 2.0, 10.0, 0.0, 10_000, 100, at(100))
    soon = at(100) + timedelta(minutes=59)
    later = at(100) + timedelta(minutes=61)
    assert [a.type for a in detect_silence([], {PAYMENT: steady}, CONFIG, now=soon)] == [
        AnomalyType.SILENCE
    ]
    assert detect_silence([], {PAYMENT: steady}, CONFIG, now=later) == []
