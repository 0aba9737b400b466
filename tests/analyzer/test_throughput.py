"""Throughput drops: a consumer handling fewer of the messages its producers publish."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from aiops_engine.detection import Anomaly, AnomalyType, Baseline, SeriesKey

from .synthetic import Run, at, poisson, window_of

PUBLISH = SeriesKey.edge("orders", "notify")
CONSUME = SeriesKey.endpoint("notify", "consume order-events")
ENTRY = SeriesKey.endpoint("orders", "/orders")


def messages(
    seed: int, windows: int, rate: float, lost: dict[int, float], *, failing: bool = False
) -> list[list[Anomaly]]:
    """`windows` cycles of `rate` published messages a window (and as many orders taken),
    of which the share `lost[index]` is never consumed; with `failing`, the lost ones are
    calls refused (their callers record a failure)."""
    rng = random.Random(seed)
    run = Run()
    for index in range(windows):
        published = poisson(rng, rate)
        share = lost.get(index, 0.0)
        consumed = sum(rng.random() >= share for _ in range(published))
        errors = published - consumed if failing else 0
        windows_now = [
            run.window([5.0] * published, index=index, key=PUBLISH, errors=errors),
            run.window([10.0] * consumed, index=index, key=CONSUME),
            run.window([40.0] * published, index=index, key=ENTRY),
        ]
        run.cycle([w for w in windows_now if w.count], index=index)
    return run.reports


def drops(reports: list[list[Anomaly]]) -> list[int]:
    return [
        index
        for index, found in enumerate(reports)
        if any(a.type is AnomalyType.SILENCE and "throughput drop" in a.explanation for a in found)
    ]


def test_a_busy_consumer_losing_most_messages_is_a_throughput_drop_within_a_minute() -> None:
    reports = messages(1, 90, 30.0, dict.fromkeys(range(60, 90), 0.6))
    found = drops(reports)
    assert found
    assert found[0] in range(60, 66)
    assert all(index >= 60 for index in found)
    [anomaly] = [a for a in reports[found[0]] if a.type is AnomalyType.SILENCE]
    assert anomaly.key == CONSUME
    assert anomaly.observed < 0.75 * (anomaly.baseline or 0)


def test_a_quiet_consumer_losing_most_messages_is_found_over_a_run_of_windows() -> None:
    """Two messages a window: no single window tells, a few minutes of them do."""
    reports = messages(2, 160, 2.0, dict.fromkeys(range(100, 160), 0.75))
    found = drops(reports)
    assert found
    assert 101 < found[0] < 160
    assert all(index >= 100 for index in found)


def test_normal_traffic_and_a_small_loss_raise_no_drop() -> None:
    """Two thousand windows at every share lost below a fifth: no drop is claimed."""
    assert drops(messages(3, 1000, 8.0, {})) == []
    assert drops(messages(4, 1000, 20.0, dict.fromkeys(range(200, 1000), 0.1))) == []


def test_calls_answered_with_errors_are_served_and_no_drop() -> None:
    """A consumer failing most messages still handled them: an error, not a drop."""
    rng = random.Random(5)
    run = Run()
    for index in range(90):
        published = poisson(rng, 30.0)
        failed = round(0.9 * published) if index >= 60 else 0
        run.cycle(
            [
                run.window([5.0] * published, index=index, key=PUBLISH, errors=failed),
                run.window([10.0] * published, index=index, key=CONSUME, errors=failed),
                run.window([40.0] * published, index=index, key=ENTRY),
            ],
            index=index,
        )
    assert drops(run.reports) == []


def test_calls_refused_by_a_callee_are_a_drop_on_the_callee() -> None:
    """Refused calls never arrived: the callee served fewer than its callers called."""
    reports = messages(6, 90, 30.0, dict.fromkeys(range(60, 90), 0.9), failing=True)
    found = drops(reports)
    assert found
    assert found[0] >= 60
    assert {a.key.service for i in found for a in reports[i] if "throughput" in a.explanation} == {
        "notify"
    }


rates = st.one_of(
    st.sampled_from([0.0, 1e-6, 1.0, 1e9]),
    st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=200, deadline=None)
@given(
    learned=st.tuples(rates, rates, st.integers(0, 10**6), st.integers(0, 10**6)),
    cycles=st.lists(
        st.tuples(st.integers(0, 5000), st.integers(0, 5000), st.integers(0, 5000)),
        min_size=1,
        max_size=12,
    ),
)
def test_any_counts_give_a_verdict_never_an_exception(
    learned: tuple[float, float, int, int], cycles: list[tuple[int, int, int]]
) -> None:
    """Zero, tiny and huge rates, empty windows, more served than called, more failed than
    there were: detection and learning of drops always answer, with finite figures."""
    publish_rate, consume_rate, publish_windows, consume_windows = learned
    run = Run()
    run.baselines = {
        PUBLISH: Baseline(PUBLISH, 5.0, 1.0, publish_rate, 0.0, 10**6, publish_windows, at(0)),
        CONSUME: Baseline(CONSUME, 9.0, 1.0, consume_rate, 0.0, 10**6, consume_windows, at(0)),
    }
    for index, (called, served, failed) in enumerate(cycles, start=1):
        windows = [
            window_of([5.0] * called, index=index, key=PUBLISH, errors=min(failed, called)),
            window_of([9.0] * served, index=index, key=CONSUME),
        ]
        for anomaly in run.cycle([w for w in windows if w.count], index=index):
            assert 0.0 <= anomaly.score <= 1.0
            assert "nan" not in anomaly.explanation
            assert "inf" not in anomaly.explanation
