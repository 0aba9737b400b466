"""Metric detection gives a result for any finite input, and judges a series by its own shape:
the same verdicts at any scale, zeros judged rather than divided by."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from aiops_engine.metrics import (
    Direction,
    MetricConfig,
    MetricPoint,
    MetricState,
    accept_new_normal,
    judge,
    watch,
)

T0 = datetime(2026, 1, 5, tzinfo=UTC)
CONFIG = MetricConfig(min_points=5)

finite = st.one_of(
    st.sampled_from([0.0, -0.0, 1e-6, 1.0, 5.0, 1e12, -1e12, 1e-300, 1e300]),
    st.floats(allow_nan=False, allow_infinity=False),
)
steps_s = st.sampled_from([1e-3, 1.0, 60.0, 300.0, 86_400.0 * 30])


def run(values: list[float], steps: list[float], direction: Direction) -> MetricState | None:
    state: MetricState | None = None
    at = T0
    for value, step in zip(values, steps, strict=False):
        at += timedelta(seconds=step)
        state, verdict = judge(state, "s", at, value, CONFIG, direction)
        assert 0.0 <= verdict.score <= 1.0
        assert verdict.refused is None
        for figure in (verdict.expected, verdict.lower, verdict.upper):
            assert figure is None or not math.isnan(figure)
        assert "nan" not in verdict.explanation
        if verdict.lower is not None and verdict.upper is not None:
            assert verdict.lower <= verdict.upper
    return state


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(finite, min_size=0, max_size=60),
    steps=st.lists(steps_s, min_size=60, max_size=60),
    direction=st.sampled_from(list(Direction)),
)
def test_judging_never_raises_on_finite_input(
    values: list[float], steps: list[float], direction: Direction
) -> None:
    """Zero, constant, tiny, huge, negative, empty and single-point series: every point gets a
    verdict with a score in [0, 1], finite or absent figures, and the state stays usable."""
    state = run(values, steps, direction)
    if state is not None:
        accept_new_normal(state, T0)


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(st.floats(min_value=1.0, max_value=100.0), min_size=20, max_size=80),
    factor=st.sampled_from([1e-6, 1e-3, 1e3, 1e9]),
)
def test_verdicts_do_not_depend_on_the_unit(values: list[float], factor: float) -> None:
    """A series in ms and the same series in s or ns is judged the same: scale-free."""

    def verdicts(scale: float) -> list[bool]:
        state: MetricState | None = None
        out = []
        for i, value in enumerate(values):
            at = T0 + timedelta(minutes=i)
            state, verdict = judge(state, "s", at, value * scale, CONFIG)
            out.append(verdict.anomalous)
        return out

    assert verdicts(1.0) == verdicts(factor)


@given(value=st.one_of(st.just(math.nan), st.just(math.inf), st.just(-math.inf)))
def test_a_value_that_is_not_a_number_is_refused_and_changes_nothing(value: float) -> None:
    state, _ = judge(None, "s", T0, 1.0, CONFIG)
    after, verdict = judge(state, "s", T0 + timedelta(minutes=1), value, CONFIG)
    assert after is state
    assert verdict.refused == "not a finite number"
    assert not verdict.anomalous


def test_a_point_not_newer_than_the_last_is_refused() -> None:
    state, _ = judge(None, "s", T0, 1.0, CONFIG)
    after, verdict = judge(state, "s", T0, 2.0, CONFIG)
    assert after is state
    assert verdict.refused == "not newer than the last point judged"


@settings(max_examples=100, deadline=None)
@given(points=st.lists(st.tuples(st.sampled_from("abc"), finite | st.just(math.nan)), max_size=60))
def test_watching_many_series_counts_every_refusal(points: list[tuple[str, float]]) -> None:
    """`watch` judges each series in time order; every point gets one verdict, and every
    non-finite one is counted under its reason."""
    batch = [MetricPoint(s, T0 + timedelta(seconds=i), v, "svc") for i, (s, v) in enumerate(points)]
    watched = watch({}, batch, CONFIG)
    assert len(watched.judgements) == len(batch)
    assert watched.refused["not a finite number"] == sum(math.isnan(v) for _, v in points)
    assert set(watched.states) <= {s for s, _ in points}
    assert not watched.skipped
