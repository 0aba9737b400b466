"""Error spikes and caller timeouts: rates over a minimum sample, improbable at the usual rate."""

from __future__ import annotations

import pytest

from aiops_engine.detection import AnomalyType, Baseline, detect, detect_errors, detect_timeouts

from .synthetic import CHECKOUT_TO_PAYMENT, CONFIG, PAYMENT, at, window_of


def test_an_error_rate_above_the_threshold_fires() -> None:
    """60 failures in 1,000 requests is 6% > 5% (and far beyond chance at 1%): an error spike
    explaining count, rate, threshold."""
    [anomaly] = detect_errors([window_of([10.0] * 1000, index=0, errors=60)], {}, CONFIG)
    assert anomaly.type is AnomalyType.ERROR_SPIKE
    assert (anomaly.observed, anomaly.threshold, anomaly.sample_count) == (0.06, 0.05, 1000)
    assert anomaly.baseline is None  # no baseline needed, none learned yet
    assert "60 of 1000 requests failed (6%, threshold 5%" in anomaly.explanation


def test_an_error_rate_at_the_threshold_does_not_fire() -> None:
    """The rate rule is strictly greater: 50 failures in 1,000 (5%) is not a spike, though
    that many is far beyond chance at 1%; 51 is."""
    assert detect_errors([window_of([10.0] * 1000, index=0, errors=50)], {}, CONFIG) == []
    assert detect_errors([window_of([10.0] * 1000, index=0, errors=51)], {}, CONFIG) != []


def test_four_failures_in_four_requests_are_not_enough_five_are() -> None:
    """min_samples=5: 100% of 4 is not significant; 100% of 5 is, and scores 0.975
    (20 times the 5% threshold)."""
    assert detect_errors([window_of([10.0] * 4, index=0, errors=4)], {}, CONFIG) == []
    [anomaly] = detect_errors([window_of([10.0] * 5, index=0, errors=5)], {}, CONFIG)
    assert anomaly.score == pytest.approx(0.975)


def test_three_failures_in_five_requests_of_a_reliable_endpoint_are_chance() -> None:
    """40% or 60% of 5 pass the rate rule, but at a 1% usual error rate 3 failures in 5
    happen by chance about once in 100,000 windows (error_p_value is 1e-6): not a spike.
    Four failures in five (once in 20 million) are."""
    assert detect_errors([window_of([10.0] * 5, index=0, errors=2)], {}, CONFIG) == []
    assert detect_errors([window_of([10.0] * 5, index=0, errors=3)], {}, CONFIG) == []
    [anomaly] = detect_errors([window_of([10.0] * 5, index=0, errors=4)], {}, CONFIG)
    assert anomaly.observed == 0.8


def test_an_endpoint_that_usually_fails_often_needs_more_to_spike() -> None:
    """With a learned 15% error rate, 3 (or even 8) failures in 10 are within reach of chance,
    though far past the 5% threshold; 10 in 10 are not."""
    flaky = {PAYMENT: Baseline(PAYMENT, 10.0, 1.0, 10.0, 0.15, 10_000, 100, at(0))}
    assert detect_errors([window_of([10.0] * 10, index=0, errors=3)], flaky, CONFIG) == []
    eight = window_of([10.0] * 10, index=0, errors=8)
    assert detect_errors([eight], flaky, CONFIG) == []
    assert detect_errors([eight], {}, CONFIG) != []  # at the usual 1% it would spike
    assert detect_errors([window_of([10.0] * 10, index=0, errors=10)], flaky, CONFIG) != []


def test_failed_outgoing_calls_are_an_error_spike_on_the_edge() -> None:
    """Refused connections counted as errors on checkout → payment fire on that edge."""
    window = window_of([1.0] * 20, index=0, key=CHECKOUT_TO_PAYMENT, errors=20)
    [anomaly] = detect_errors([window], {}, CONFIG)
    assert anomaly.key == CHECKOUT_TO_PAYMENT
    assert "checkout → payment: 20 of 20 calls failed" in anomaly.explanation


def test_an_error_spike_names_the_usual_error_rate_when_known() -> None:
    """With a baseline, the anomaly's baseline is the learned error rate."""
    known = {PAYMENT: Baseline(PAYMENT, 10.0, 1.0, 10.0, 0.01, 10_000, 100, at(0))}
    [anomaly] = detect_errors([window_of([10.0] * 10, index=0, errors=5)], known, CONFIG)
    assert anomaly.baseline == 0.01
    assert "usually 1.0%" in anomaly.explanation


def test_callers_timing_out_on_a_callee_fire_a_timeout_on_the_edge() -> None:
    """30 of 40 calls timed out: a timeout anomaly (and the error spike the failures are)."""
    window = window_of([2000.0] * 40, index=0, key=CHECKOUT_TO_PAYMENT, errors=30, timeouts=30)
    found = detect([window], {}, CONFIG, now=at(1))
    assert sorted(a.type for a in found) == [AnomalyType.ERROR_SPIKE, AnomalyType.TIMEOUT]
    [timeout] = [a for a in found if a.type is AnomalyType.TIMEOUT]
    assert (timeout.key, timeout.observed, timeout.sample_count) == (CHECKOUT_TO_PAYMENT, 0.75, 40)
    assert "30 of 40 calls timed out" in timeout.explanation


def test_timeouts_from_a_starved_caller_fire_under_min_samples() -> None:
    """A hung callee slows its callers to a trickle: 3 of 3 calls timing out is reported."""
    window = window_of([2000.0] * 3, index=0, key=CHECKOUT_TO_PAYMENT, timeouts=3)
    assert [a.type for a in detect_timeouts([window], CONFIG)] == [AnomalyType.TIMEOUT]


def test_a_few_timeouts_are_not_reported() -> None:
    """Two timeouts (under min_timeouts), or 3 among 100 calls (3%), are ordinary."""
    windows = [
        window_of([5.0] * 2, index=0, key=CHECKOUT_TO_PAYMENT, timeouts=2),
        window_of([5.0] * 100, index=1, key=CHECKOUT_TO_PAYMENT, timeouts=3),
    ]
    assert detect_timeouts(windows, CONFIG) == []
