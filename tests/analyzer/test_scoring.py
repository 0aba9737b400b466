"""Scores stay in [0, 1] and grow with severity; the Poisson bound is a bound."""

from __future__ import annotations

import math
import random

import pytest

from aiops_engine.detection import Baseline, DetectionConfig, detect
from aiops_engine.detection.scoring import (
    binomial_upper_tail,
    exceedance_score,
    poisson_cdf_upper_bound,
    shortfall_score,
)

from .synthetic import CHECKOUT_TO_PAYMENT, PAYMENT, at, window_of


def test_exceedance_scores_half_at_the_threshold_and_approach_one() -> None:
    """0.5 just past the threshold, 0.75 at twice it, never above 1, 0 below it."""
    assert exceedance_score(300.0, 300.0) == 0.5
    assert exceedance_score(600.0, 300.0) == 0.75
    assert exceedance_score(1e12, 300.0) <= 1.0
    assert exceedance_score(200.0, 300.0) == 0.0
    assert shortfall_score(0, 100.0) == 1.0
    assert shortfall_score(50, 100.0) == 0.5


def test_every_detected_anomaly_scores_within_zero_and_one() -> None:
    """Random windows against random baselines: any anomaly found has a score in [0, 1]."""
    rng = random.Random(30)
    config = DetectionConfig()
    scores = []
    for index in range(300):
        level = rng.uniform(0.1, 500.0)
        known = {
            key: Baseline(
                key, level, rng.uniform(0, level), rng.uniform(0, 50), 0.0, 1000, 50, at(0)
            )
            for key in (PAYMENT, CHECKOUT_TO_PAYMENT)
        }
        count = rng.randint(0, 200)
        errors = rng.randint(0, count)
        windows = [
            window_of([level * rng.uniform(0, 20)] * count, index=0, key=key, errors=errors,
                      timeouts=rng.randint(0, errors))
            for key in (PAYMENT, CHECKOUT_TO_PAYMENT)
            if count
        ]  # fmt: skip
        scores += [a.score for a in detect(windows, known, config, now=at(index % 2 + 1))]
    assert len(scores) > 100
    assert all(0.0 <= score <= 1.0 for score in scores)


@pytest.mark.parametrize(
    ("count", "mean"), [(0, 5.0), (0, 30.0), (3, 100.0), (10, 100.0), (2, 3.0)]
)
def test_the_poisson_bound_is_at_least_the_exact_probability_and_close(
    count: int, mean: float
) -> None:
    """P(X <= count) is never underestimated (no false silence), and exact for count 0."""
    exact = math.fsum(math.exp(-mean) * mean**k / math.factorial(k) for k in range(count + 1))
    bound = poisson_cdf_upper_bound(count, mean)
    assert exact <= bound <= 2 * exact
    if count == 0:
        assert bound == pytest.approx(exact)


def test_binomial_upper_tail_matches_hand_computed_values() -> None:
    """P(X >= k) for small binomials, against values worked out by hand."""
    assert binomial_upper_tail(0, 5, 0.3) == 1.0
    assert binomial_upper_tail(5, 5, 0.1) == pytest.approx(1e-5)
    assert binomial_upper_tail(2, 5, 0.01) == pytest.approx(1 - 0.99**5 - 5 * 0.01 * 0.99**4)
    assert binomial_upper_tail(2, 2, 0.5) == pytest.approx(0.25)


def test_binomial_upper_tail_is_one_at_or_below_the_mean_and_flat_in_cost() -> None:
    """At or below the mean the answer is 1 (no test asks there); far above it, with 100,000
    trials, the sum stops after a few terms and still matches the exact tail's first term."""
    assert binomial_upper_tail(1, 2, 0.5) == 1.0
    assert binomial_upper_tail(1_000, 100_000, 0.01) == 1.0
    tail = binomial_upper_tail(2_000, 100_000, 0.01)
    assert 0 < tail < 1e-100
