"""Detection and learning give a result for any finite input: zeros, constants, huge values,
counted or not, alone or pooled with a held window."""

from __future__ import annotations

import dataclasses
import math
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiops_engine.detection import Anomaly, Baseline, SeriesKey, WindowStats, detect, learn
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


@st.composite
def counted_windows(draw: st.DrawFn) -> WindowStats:
    """A window as the analyzer's query counts it, with any counts (or none) past the bars."""
    window = draw(windows())
    slow = draw(st.none() | st.integers(min_value=0, max_value=window.count))
    far = None if slow is None else draw(st.integers(min_value=0, max_value=slow))
    return dataclasses.replace(window, slow_count=slow, far_count=far)


@st.composite
def learned_baselines(draw: st.DrawFn) -> Baseline:
    """A baseline with its shape, slow shares and a held window (maybe the one just before)."""
    baseline = draw(baselines())
    held_count = draw(counts)
    held_slow = draw(st.integers(min_value=0, max_value=held_count))
    return dataclasses.replace(
        baseline,
        tail_ms=draw(values),
        slow_rate=draw(st.floats(min_value=0, max_value=1)),
        far_rate=draw(st.floats(min_value=0, max_value=1)),
        held_count=held_count,
        held_slow=held_slow,
        held_far=draw(st.integers(min_value=0, max_value=held_slow)),
        held_errors=draw(st.integers(min_value=0, max_value=held_count)),
        held_end=draw(st.sampled_from([None, at(199), at(200)])),  # at(200): pooled
    )


def assert_sane(found: list[Anomaly]) -> None:
    for anomaly in found:
        assert not math.isnan(anomaly.score)
        assert 0.0 <= anomaly.score <= 1.0
        assert not math.isnan(anomaly.threshold)
        assert "nan" not in anomaly.explanation
        assert "inf" not in anomaly.explanation


@settings(max_examples=400, deadline=None)
@given(window=counted_windows(), baseline=learned_baselines())
def test_detect_and_learn_never_raise_on_counted_windows(
    window: WindowStats, baseline: Baseline
) -> None:
    """Counted windows, pooled with a held one or not, against any learned shape: finite
    scores and explanations, and learning keeps (or holds, or learns) the key's baseline."""
    found = detect([window], {PAYMENT: baseline}, CONFIG, now=window.end)
    assert_sane(found)
    learned = learn({PAYMENT: baseline}, [window], found, CONFIG)[PAYMENT]
    assert learned.windows >= baseline.windows
    for value in (learned.level_ms, learned.spread_ms, learned.tail_ms, learned.slow_rate):
        assert math.isfinite(value)


# One window of a run: requests, median and p95 (ms), shares slow and far slow, failures.
run_windows = st.tuples(
    st.integers(min_value=0, max_value=300),
    st.sampled_from([0.0, 0.5, 1.0, 100.0, 1e6]) | st.floats(min_value=0, max_value=1e6),
    st.floats(min_value=1, max_value=50),
    st.floats(min_value=0, max_value=1),
    st.floats(min_value=0, max_value=1),
    st.floats(min_value=0, max_value=1),
    st.booleans(),  # counted against the bars, or built by hand
)


@settings(max_examples=200, deadline=None)
@given(steps=st.lists(run_windows, min_size=1, max_size=40))
def test_cycles_of_random_counted_windows_never_raise(
    steps: list[tuple[int, float, float, float, float, float, bool]],
) -> None:
    """`detect` then `learn`, cycle after cycle, through warm-up, holds and pooled windows:
    never an exception, never a NaN score, a baseline that stays finite."""
    learned: dict[SeriesKey, Baseline] = {}
    for index, (count, p50, tail, slow, far, failed, counted) in enumerate(steps):
        slow_count = round(slow * count)
        window = WindowStats(
            PAYMENT, at(index), at(index + 1), count, round(failed * count), 0,
            p50, p50, p50 * tail, p50 * tail,
            slow_count=slow_count if counted else None,
            far_count=round(far * slow_count) if counted else None,
        )  # fmt: skip
        found = detect([window], learned, CONFIG, now=window.end)
        assert_sane(found)
        learned = learn(learned, [window], found, CONFIG)
        baseline = learned.get(PAYMENT)
        if baseline is not None:
            assert all(
                math.isfinite(v)
                for v in (baseline.level_ms, baseline.spread_ms, baseline.tail_ms,
                          baseline.slow_rate, baseline.far_rate, baseline.rate_per_s)
            )  # fmt: skip


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
