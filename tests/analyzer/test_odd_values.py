"""Detection and learning give a result for any finite input: zeros, constants, huge values."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiops_engine.detection import Baseline, SeriesKey, WindowStats, detect, learn
from aiops_engine.rca import DependencyGraph, RcaConfig
from aiops_engine.step import conclude_window, judge_window

from .synthetic import CONFIG, PAYMENT, at

# From nothing to a value no latency reaches, with the awkward ones made likely.
values = st.one_of(
    st.sampled_from([0.0, 1e-6, 1.0, 5.0, 1e12]),
    st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False),
)
counts = st.integers(min_value=0, max_value=2_000)


@st.composite
def windows(draw: st.DrawFn) -> WindowStats:
    count = draw(counts)
    p50, p95 = sorted((draw(values), draw(values)))
    return WindowStats(
        key=PAYMENT,
        start=at(200),
        end=at(200) + timedelta(seconds=draw(st.sampled_from([0.0, 0.001, 10.0, 86_400.0]))),
        count=count,
        error_count=draw(st.integers(min_value=0, max_value=count)),
        timeout_count=draw(st.integers(min_value=0, max_value=count)),
        mean_ms=p50,
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p95,
    )


@st.composite
def baselines(draw: st.DrawFn) -> Baseline:
    return Baseline(
        key=PAYMENT,
        level_ms=draw(values),
        spread_ms=draw(values),
        rate_per_s=draw(values),
        error_rate=draw(st.floats(min_value=0, max_value=1)),
        samples=draw(st.integers(min_value=0, max_value=10**9)),
        windows=draw(st.integers(min_value=0, max_value=10**6)),
        updated_at=at(199),
    )


@settings(max_examples=400, deadline=None)
@given(window=windows(), baseline=baselines())
def test_detect_and_learn_never_raise_on_finite_input(
    window: WindowStats, baseline: Baseline
) -> None:
    """Every anomaly is explained with finite numbers, and learning keeps the key's baseline."""
    found = detect([window], {PAYMENT: baseline}, CONFIG, now=window.end)
    for anomaly in found:
        assert 0.0 <= anomaly.score <= 1.0
        assert "nan" not in anomaly.explanation
        assert "inf" not in anomaly.explanation
    learned = learn({PAYMENT: baseline}, [window], found, CONFIG)
    assert learned[PAYMENT].windows >= baseline.windows


def test_a_key_that_sat_at_zero_is_judged_when_it_slows() -> None:
    """Level 0 and spread 0 (millisecond clocks on a sub-ms call): a 40 ms window is reported,
    where it used to divide by zero and stop the whole cycle."""
    flat = Baseline(PAYMENT, 0.0, 0.0, 10.0, 0.0, 10_000, 100, at(199))
    slow = WindowStats(PAYMENT, at(200), at(201), 50, 0, 0, 40.0, 40.0, 60.0, 80.0)
    [anomaly] = detect([slow], {PAYMENT: flat}, CONFIG, now=slow.end)
    assert anomaly.observed == 40.0
    assert "above its baseline of 0.0 ms" in anomaly.explanation


def test_one_key_that_cannot_be_judged_never_stops_the_others() -> None:
    """A baseline with a naive timestamp (a malformed record) makes `detect` raise for its key:
    that key is skipped and named with the reason, keeps its baseline, and every other key is
    judged and learned as if it were alone."""
    broken_key = SeriesKey.endpoint("inventory", "/inventory")
    broken = Baseline(broken_key, 10.0, 1.0, 5.0, 0.0, 1_000, 100, at(199).replace(tzinfo=None))
    healthy = Baseline(PAYMENT, 10.0, 1.0, 10.0, 0.0, 10_000, 100, at(199))
    slow = WindowStats(PAYMENT, at(200), at(201), 50, 0, 0, 80.0, 80.0, 90.0, 95.0)
    baselines = {broken_key: broken, PAYMENT: healthy}
    with pytest.raises(TypeError):
        detect([slow], baselines, CONFIG, now=slow.end)  # what used to stop the whole cycle

    judged = judge_window([slow], baselines, CONFIG, now=slow.end)
    assert [a.key for a in judged.anomalies] == [PAYMENT]
    assert judged.anomalies == detect([slow], {PAYMENT: healthy}, CONFIG, now=slow.end)
    assert list(judged.skipped) == [broken_key]
    assert judged.skipped[broken_key].startswith("TypeError: ")

    quiet = WindowStats(PAYMENT, at(200), at(201), 50, 0, 0, 10.0, 10.0, 11.0, 12.0)
    outcome = conclude_window(
        [quiet], [], [], {}, baselines=baselines, graph=DependencyGraph(), config=CONFIG,
        rca=RcaConfig(),
    )  # fmt: skip
    assert outcome.baselines[broken_key] == broken
    assert outcome.baselines[PAYMENT].windows == healthy.windows + 1
