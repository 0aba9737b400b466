"""Scores in [0, 1], and the tail probabilities the silence and error detectors need."""

from __future__ import annotations

import math


def exceedance_score(observed: float, threshold: float) -> float:
    """0.5 at the threshold, 0.75 at twice it, towards 1 beyond; 0 at or below zero."""
    if observed <= 0 or observed < threshold:
        return 0.0
    if threshold <= 0:
        return 1.0
    return _unit(1.0 - threshold / (2.0 * observed))


def shortfall_score(observed: float, expected: float) -> float:
    """How much of the expected traffic is missing: 1 when nothing arrived."""
    if expected <= 0:
        return 0.0
    return _unit(1.0 - observed / expected)


def poisson_cdf_upper_bound(count: int, mean: float) -> float:
    """An upper bound on P(X <= count) for X ~ Poisson(mean), exact for count 0.

    For count < mean the terms of the sum grow towards k = count, each at
    least mean/count times the one before, so the sum is at most the last
    term over (1 - count/mean): O(1) however large the traffic.
    """
    if mean <= 0 or count >= mean:
        return 1.0
    log_last = -mean + count * math.log(mean) - math.lgamma(count + 1)
    return min(1.0, math.exp(log_last) / (1.0 - count / mean))


def binomial_upper_tail(successes: int, trials: int, p: float) -> float:
    """P(X >= successes) for X ~ Binomial(trials, p); 1.0 at or below the mean.

    At or below the mean the tail is about a half or more, and every caller
    only asks whether it is tiny: answering 1.0 there keeps the cost flat for
    a key with 100,000 requests a window. Above it the terms only shrink, so
    the sum stops once they no longer change it.
    """
    if successes <= 0:
        return 1.0
    if p <= 0:
        return 0.0
    if p >= 1 or successes <= trials * p:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    total = 0.0
    for k in range(successes, trials + 1):
        term = math.exp(
            math.lgamma(trials + 1) - math.lgamma(k + 1) - math.lgamma(trials - k + 1)
            + k * log_p + (trials - k) * log_q
        )  # fmt: skip
        total += term
        if term <= total * 1e-16:
            break
    return min(1.0, total)


def _unit(value: float) -> float:
    return min(1.0, max(0.0, value))
