"""Quantiles from histogram buckets (aiops_telemetry.histograms): monotone, within the buckets
and within min and max, nothing for nothing counted; the receiver and the analyzer both use them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiops_telemetry.histograms import bucket_quantile, histogram_values

finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)


@st.composite
def histograms(draw: st.DrawFn) -> tuple[list[float], list[float]]:
    bounds = sorted(draw(st.sets(finite, max_size=12)))
    counts = draw(
        st.lists(
            st.integers(min_value=0, max_value=10**9),
            min_size=len(bounds) + 1,
            max_size=len(bounds) + 1,
        )
    )
    return bounds, [float(n) for n in counts]


@given(histograms(), st.lists(st.floats(min_value=0, max_value=1), min_size=2, max_size=6))
def test_quantiles_are_monotone_and_within_the_buckets(
    histogram: tuple[list[float], list[float]], qs: list[float]
) -> None:
    bounds, counts = histogram
    found = [bucket_quantile(q, bounds, counts) for q in sorted(qs)]
    if sum(counts) == 0 or not bounds:
        assert found == [None] * len(qs)  # nothing counted, or nothing says where
        return
    values = [v for v in found if v is not None]
    assert len(values) == len(qs)
    assert values == sorted(values)
    assert all(min(0.0, bounds[0]) <= v <= bounds[-1] for v in values)


@given(
    histograms(),
    st.floats(min_value=0, max_value=1),
    st.tuples(finite, finite).map(sorted),
)
def test_quantiles_stay_within_min_and_max_when_known(
    histogram: tuple[list[float], list[float]], q: float, extremes: list[float]
) -> None:
    bounds, counts = histogram
    low, high = extremes
    value = bucket_quantile(q, bounds, counts, low=low, high=high)
    if sum(counts) == 0:
        assert value is None
    else:
        assert value is not None
        assert low <= value <= high


def test_quantiles_interpolate_inside_their_bucket() -> None:
    assert bucket_quantile(0.5, [10.0], [0.0, 0.0]) is None
    assert bucket_quantile(0.5, [100.0], [4.0, 0.0]) == 50.0  # (0, 100], half way
    assert bucket_quantile(1.0, [100.0], [0.0, 4.0]) == 100.0  # beyond the last bound: it
    assert bucket_quantile(0.5, [], [4.0], low=2.0, high=4.0) == 3.0
    with pytest.raises(ValueError, match="counts"):
        bucket_quantile(0.5, [1.0], [1.0])


def test_a_histogram_that_counted_nothing_is_only_a_count() -> None:
    assert histogram_values(0, 0.0, [1.0], [0.0, 0.0]) == [("count", 0.0)]
    assert histogram_values(2, None, [], []) == [("count", 2.0)]  # no sum, no buckets
