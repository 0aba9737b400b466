"""Silence: steady traffic that goes quiet fires; idle, sparse or retired keys never do."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from aiops_engine.detection import AnomalyType, Baseline, SeriesKey, detect_silence, system_load

from .synthetic import CHECKOUT, CONFIG, PAYMENT, Run, at, lognormal, poisson, steady_run, window_of


def test_a_steady_endpoint_that_goes_quiet_fires() -> None:
    """10 req/s, then no rows at all: a silence with observed 0, about 100 expected, score 1,
    from the second empty window (the only key is the whole system: see the next test)."""
    run = steady_run(random.Random(8), 20)
    assert run.cycle([], index=20) == []
    [anomaly] = run.cycle([], index=21)
    assert anomaly.type is AnomalyType.SILENCE
    assert anomaly.key == PAYMENT
    assert anomaly.observed == 0
    assert anomaly.baseline == pytest.approx(100.0)
    assert anomaly.threshold == pytest.approx(10.0)
    assert (anomaly.window_start, anomaly.window_end) == (at(21), at(22))
    assert anomaly.score == 1.0
    assert "0 requests in 10 s" in anomaly.explanation


def two_keys(rng: random.Random, windows: int) -> Run:
    """Payment and checkout at 10 req/s each for `windows` windows."""
    run = Run()
    for index in range(windows):
        run.cycle(
            [
                window_of(lognormal(rng, 100.0, 100), index=index),
                window_of(lognormal(rng, 30.0, 100), index=index, key=CHECKOUT),
            ],
            index=index,
        )
    return run


def test_a_trickle_far_below_steady_traffic_fires_while_the_rest_carries_on() -> None:
    """3 requests where 100 are usual, while checkout keeps its 100: a silence of payment,
    though too few requests to judge latency."""
    rng = random.Random(9)
    run = two_keys(rng, 20)
    busy = window_of(lognormal(rng, 30.0, 100), index=20, key=CHECKOUT)
    [anomaly] = run.cycle([window_of([5.0] * 3, index=20), busy], index=20)
    assert anomaly.type is AnomalyType.SILENCE
    assert anomaly.key == PAYMENT
    assert anomaly.observed == 3
    assert anomaly.sample_trace_ids  # the few requests that did arrive
    assert anomaly.score == pytest.approx(0.94, abs=0.02)  # checkout's load is 0.5 of 2 keys'


def test_an_idle_stretch_of_the_whole_system_is_load_not_silence() -> None:
    """Every key falls to a tenth together (users went away, as at night): nothing fires;
    the system load it is judged at is that tenth."""
    rng = random.Random(13)
    run = two_keys(rng, 20)
    quiet = [
        window_of(lognormal(rng, 100.0, 9), index=20),
        window_of(lognormal(rng, 30.0, 10), index=20, key=CHECKOUT),
    ]
    assert run.cycle(quiet, index=20) == []
    judged = [(w, run.baselines[w.key]) for w in quiet]
    assert system_load(judged) == pytest.approx(0.095, abs=0.01)


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


def test_an_empty_window_in_a_long_lull_is_not_silence() -> None:
    """Minutes of a trickle (2-4 requests a window, too few to teach latency)
    teaches the usual rate, so the lull's first empty window, the whole system quiet, is
    not judged against the busy hour's rate."""
    rng = random.Random(9)
    run = two_keys(rng, 20)
    for index in range(20, 60):
        trickle = [window_of(lognormal(rng, 100.0, rng.randint(2, 4)), index=index)]
        trickle.append(
            window_of(lognormal(rng, 30.0, rng.randint(2, 4)), index=index, key=CHECKOUT)
        )
        assert run.cycle(trickle, index=index) == []
    assert run.cycle([], index=60) == []
    assert run.baselines[PAYMENT].rate_per_s < 1.0


def test_a_whole_system_gone_quiet_is_silence_from_its_second_empty_window() -> None:
    """Nothing at all from two busy keys: the first empty window after their traffic is a
    lull's chance (or late spans), the second is both keys silent."""
    run = two_keys(random.Random(10), 20)
    assert run.cycle([], index=20) == []
    assert {(a.type, a.key) for a in run.cycle([], index=21)} == {
        (AnomalyType.SILENCE, PAYMENT),
        (AnomalyType.SILENCE, CHECKOUT),
    }


def test_a_key_that_only_carries_traffic_in_bursts_is_not_silent_after_each_one() -> None:
    """Checkout writes its void ledger only while a downstream fails: five bursts of two busy
    windows, a few minutes apart, while payment and checkout carry their steady traffic. The
    ledger's rate is learned over the busy system's time, empty windows included, not over
    its bursts alone, so the quiet after the last burst (its baseline established by then)
    is its usual, not an hour of silence; while the whole system is quiet, nothing is
    learned."""
    ledger = SeriesKey.edge("checkout", "postgres")
    rng = random.Random(14)
    run = two_keys(rng, 20)
    index = 20
    for _ in range(5):
        for busy in [True] * 2 + [False] * 18:
            windows = [
                window_of(lognormal(rng, 100.0, 100), index=index),
                window_of(lognormal(rng, 30.0, 100), index=index, key=CHECKOUT),
            ]
            if busy:
                windows.append(window_of(lognormal(rng, 5.0, 60), index=index, key=ledger))
            assert run.cycle(windows, index=index) == [], index
            index += 1
    assert run.baselines[ledger].windows >= CONFIG.min_windows
    assert run.baselines[ledger].rate_per_s < 1.0  # 6/s while busy, a tenth of the time
    rate = run.baselines[ledger].rate_per_s
    assert run.cycle([], index=index) == []
    assert run.baselines[ledger].rate_per_s == rate  # the whole system quiet: nothing learned
