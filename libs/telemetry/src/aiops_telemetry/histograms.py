"""What an explicit-bucket histogram says of its values: count, mean, and quantiles estimated
from the buckets.

Pure functions, shared by the OTLP receiver (delta histograms, summarised as
they arrive) and the analyzer (cumulative ones, summarised from the
difference of two consecutive points), so both give the same numbers.

A quantile is interpolated linearly inside the bucket that holds its rank,
as Prometheus' `histogram_quantile` does: buckets say how many values fell
between two bounds, not where. The open-ended first and last buckets are
closed with the histogram's min and max when the sender reports them (the
OpenTelemetry SDKs do); otherwise the first bucket starts at 0 (or at its
bound, when that is not positive) and the last one is read as its lower
bound. The result never leaves [min, max] when those are known.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["QUANTILES", "bucket_quantile", "histogram_values"]

# The quantiles every histogram is summarised by, and the kind (series suffix) of each.
QUANTILES: tuple[tuple[str, float], ...] = (("p50", 0.5), ("p95", 0.95))


def bucket_quantile(
    q: float,
    bounds: Sequence[float],
    counts: Sequence[float],
    *,
    low: float | None = None,
    high: float | None = None,
) -> float | None:
    """The `q` quantile (0..1) of values counted in buckets; None when nothing was counted.

    `bounds` are the finite, strictly increasing upper bounds of all buckets
    but the last; `counts` has one more entry than `bounds` (bucket i holds
    values in (bounds[i-1], bounds[i]]), none negative. `low` and `high` are
    the smallest and largest value when known. Monotone in `q`.
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"a quantile is within 0..1, not {q}")
    if len(counts) != len(bounds) + 1:
        raise ValueError(f"{len(bounds)} bounds need {len(bounds) + 1} counts, not {len(counts)}")
    if low is not None and high is not None and low > high:
        low = high = None  # contradictory: use the buckets alone
    total = math.fsum(counts)
    if not total > 0.0:
        return None
    rank = q * total
    seen = 0.0
    last = max(i for i, n in enumerate(counts) if n > 0)
    for i, n in enumerate(counts):
        if n <= 0:
            continue
        if seen + n >= rank or i == last:
            edges = _edges(i, bounds, low, high)
            if edges is None:
                return None
            lower, upper = edges
            fraction = min(max((rank - seen) / n, 0.0), 1.0)
            # Halves first: upper - lower may overflow where neither does.
            value = lower + (upper / 2 - lower / 2) * fraction * 2
            value = min(max(value, lower), upper)
            if low is not None:
                value = max(value, low)
            if high is not None:
                value = min(value, high)
            return value
        seen += n
    return None  # not reached: the last non-empty bucket answers


def _edges(
    i: int, bounds: Sequence[float], low: float | None, high: float | None
) -> tuple[float, float] | None:
    """Where bucket i starts and ends; its open side closed as the module says."""
    if not bounds:  # one bucket holding everything: only min and max say where
        return None if low is None or high is None else (low, high)
    if i == 0:
        upper = bounds[0]
        if low is not None:
            return (min(low, upper), upper)
        return (0.0 if upper > 0 else upper, upper)
    lower = bounds[i - 1]
    if i < len(bounds):
        return (lower, bounds[i])
    return (lower, max(high, lower) if high is not None else lower)


def histogram_values(
    count: float,
    total: float | None,
    bounds: Sequence[float],
    counts: Sequence[float],
    *,
    low: float | None = None,
    high: float | None = None,
) -> list[tuple[str, float]]:
    """(kind, value) of one interval's histogram: its count, and when it counted anything,
    its mean (when the sum is known) and p50/p95 (when the buckets or min/max place them).

    `counts` may be empty (a histogram without buckets): then `count` is its one bucket.
    """
    found = [("count", float(count))]
    if count <= 0:
        return found
    if total is not None:
        found.append(("mean", total / count))
    buckets = counts if counts else [float(count)]
    for kind, q in QUANTILES:
        value = bucket_quantile(q, bounds if counts else (), buckets, low=low, high=high)
        if value is not None:
            found.append((kind, value))
    return found
