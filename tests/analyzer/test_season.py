"""Seasonality: a daily habit stops being reported once days of history know it; a fault
does not, whatever the hour, and one day's fault does not make its hour usual."""

from __future__ import annotations

import dataclasses
import math
import random
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from aiops_engine.detection import (
    Anomaly,
    AnomalyType,
    Baseline,
    DetectionConfig,
    Season,
    SeriesKey,
    WindowStats,
    count_bars,
    detect,
    is_usual,
    learn,
    usual_range,
)
from aiops_engine.detection.season import fold

from .synthetic import PAYMENT, T0, lognormal, percentile

WINDOW_S = 300.0  # five-minute windows: days of them stay quick
CONFIG = DetectionConfig(window_seconds=WINDOW_S)
PER_DAY = int(86400 / WINDOW_S)
OTHER = SeriesKey.endpoint("checkout", "/checkout")


def window(
    key: SeriesKey, index: int, latencies: list[float], bars: tuple[float, float] | None
) -> WindowStats:
    start = T0 + timedelta(seconds=index * WINDOW_S)
    return WindowStats(
        key=key,
        start=start,
        end=start + timedelta(seconds=WINDOW_S),
        count=len(latencies),
        error_count=0,
        timeout_count=0,
        mean_ms=sum(latencies) / len(latencies),
        p50_ms=percentile(latencies, 0.5),
        p95_ms=percentile(latencies, 0.95),
        p99_ms=percentile(latencies, 0.99),
        slow_count=None if bars is None else sum(v > bars[0] for v in latencies),
        far_count=None if bars is None else sum(v > bars[1] for v in latencies),
    )


def days_of(days: int, slow: set[int], seed: int = 1) -> dict[int, list[Anomaly]]:
    """`days` of PAYMENT (and a steady OTHER) at 5-minute windows, PAYMENT 6x slower in the
    windows `slow` names; the latency anomalies on PAYMENT by window index."""
    rng = random.Random(seed)
    baselines: dict[SeriesKey, Baseline] = {}
    found: dict[int, list[Anomaly]] = {}
    for index in range(days * PER_DAY):
        bars = count_bars(baselines, CONFIG)
        median = 60.0 if index in slow else 10.0
        windows = [
            window(PAYMENT, index, lognormal(rng, median, 40), bars.get(PAYMENT)),
            window(OTHER, index, lognormal(rng, 30.0, 40), bars.get(OTHER)),
        ]
        now = windows[0].end
        anomalies = detect(windows, baselines, CONFIG, now=now)
        baselines = learn(baselines, windows, anomalies, CONFIG)
        mine = [a for a in anomalies if a.key == PAYMENT and a.type is AnomalyType.LATENCY]
        if mine:
            found[index] = mine
    return found


def at_hour(day: int, hour: float) -> int:
    return day * PER_DAY + round(hour * 3600 / WINDOW_S)


def spell(day: int, start_h: float, hours: float) -> set[int]:
    return set(range(at_hour(day, start_h), at_hour(day, start_h + hours)))


def test_a_nightly_spell_is_reported_the_first_three_nights_and_then_no_more() -> None:
    """02:20-03:00 every night (into the next hour's neighbourhood): an incident the nights
    nothing says it is usual; from the fourth, three days know it."""
    nightly = set().union(*(spell(day, 2 + 20 / 60, 40 / 60) for day in range(5)))
    found = days_of(5, nightly)
    nights = [any(i // PER_DAY == day and i in nightly for i in found) for day in range(5)]
    assert nights == [True, True, True, False, False]
    assert all(i in nightly for i in found), "nothing outside the spells"


def test_a_fault_at_another_hour_is_reported_after_the_habit_is_known() -> None:
    nightly = set().union(*(spell(day, 2 + 20 / 60, 40 / 60) for day in range(5)))
    fault = spell(4, 14, 0.5)
    found = days_of(5, nightly | fault)
    assert any(i in fault for i in found)


def test_one_days_fault_does_not_make_its_hour_usual() -> None:
    """A fault at 14:00 on the second day is outvoted by the other days: the same fault at
    14:00 on the fifth day is still reported."""
    found = days_of(5, spell(1, 14, 0.5) | spell(4, 14, 0.5))
    assert any(i in spell(1, 14, 0.5) for i in found)
    assert any(i in spell(4, 14, 0.5) for i in found)


def hourly(key: SeriesKey, hour: int, p50: float, count: int = 100) -> list[WindowStats]:
    """An hour's windows for `key`, every one with median `p50`."""
    start = T0 + timedelta(hours=hour)
    step = timedelta(seconds=WINDOW_S)
    return [
        WindowStats(key, start + n * step, start + (n + 1) * step, count, 0, 0, p50, p50, p50, p50)
        for n in range(int(3600 / WINDOW_S))
    ]


def test_a_weekday_habit_is_usual_on_that_weekday_once_two_weeks_show_it() -> None:
    """Slow every Monday 09:00-10:00 (T0 is a Wednesday: day 5 is a Monday), never on other
    days: the third Monday's 09:00 is usual, that Tuesday's is not."""
    season = Season()
    for hour in range(24 * 19):
        monday = (hour // 24) % 7 == 5 and hour % 24 == 9
        for w in hourly(PAYMENT, hour, 60.0 if monday else 10.0):
            season = fold(season, w, CONFIG)
    third_monday = T0 + timedelta(days=19, hours=9, minutes=30)
    slow = hourly(PAYMENT, 19 * 24 + 9, 60.0)[0]
    anomaly = Anomaly(
        AnomalyType.LATENCY, PAYMENT, 60.0, 10.0, 20.0, slow.start, slow.end, 100, 0.9, (), ""
    )
    usual = usual_range(season, third_monday, CONFIG)
    assert usual is not None
    assert is_usual(anomaly, slow, usual)
    tuesday = usual_range(season, third_monday + timedelta(days=1), CONFIG)
    assert tuesday is not None
    assert not is_usual(anomaly, slow, tuesday)


def test_no_range_until_three_days_are_known() -> None:
    season = Season()
    for hour in range(24 * 2 + 12):
        for w in hourly(PAYMENT, hour, 10.0):
            season = fold(season, w, CONFIG)
    assert usual_range(season, T0 + timedelta(days=2, hours=11), CONFIG) is None


def test_a_season_keeps_only_its_days_and_ignores_an_older_window() -> None:
    season = Season()
    for hour in range(24 * 20):
        season = fold(season, hourly(PAYMENT, hour, 10.0)[0], CONFIG)
    assert len(season.hours) <= CONFIG.season_days * 24
    assert fold(season, hourly(PAYMENT, 3, 10.0)[0], CONFIG) is season


finite = st.floats(min_value=0.0, max_value=1e12, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.tuples(st.integers(0, 24 * 30), st.integers(0, 10**6), finite, st.integers(0, 10**6)),
        min_size=1,
        max_size=60,
    ),
    probe=st.integers(0, 24 * 40),
)
def test_folding_and_judging_any_finite_windows_never_raises(
    values: list[tuple[int, int, float, int]], probe: int
) -> None:
    """Zeros, huge values, empty and out-of-order windows: a season, a range or None, and a
    yes or no; never an exception."""
    season = Season()
    for hour, count, p50, errors in sorted(values):
        w = hourly(PAYMENT, hour, p50, count)[0]
        w = dataclasses.replace(
            w, error_count=min(errors, count), far_count=min(errors, count), slow_count=0
        )
        season = fold(season, w, CONFIG)
    moment = T0 + timedelta(hours=probe, minutes=probe % 60)
    usual = usual_range(season, moment, CONFIG)
    if usual is not None:
        assert not math.isnan(usual.p50)
        for kind in AnomalyType:
            a = Anomaly(kind, PAYMENT, 1.0, 1.0, 1.0, moment, moment, 1, 0.5, (), "")
            assert is_usual(a, hourly(PAYMENT, probe, 5.0)[0], usual) in (True, False)


def test_a_handful_of_requests_is_judged_with_what_chance_does_to_so_few() -> None:
    """One request 1.8x past the hour's range, one far slow request of one: within what a
    single request of a key that varies this widely does; a hundred so slow are not."""
    season = Season()
    for hour in range(24 * 4):
        for w in hourly(PAYMENT, hour, 10.0 if hour % 24 else 60.0):
            w = dataclasses.replace(w, far_count=w.count // 4 if hour % 24 == 0 else 0)
            season = fold(season, w, CONFIG)
    at_midnight = T0 + timedelta(days=4, minutes=10)
    usual = usual_range(season, at_midnight, CONFIG)
    assert usual is not None
    slow = Anomaly(AnomalyType.LATENCY, PAYMENT, 110.0, 10.0, 20.0, at_midnight, at_midnight,
                   1, 0.9, (), "")  # fmt: skip
    one = dataclasses.replace(hourly(PAYMENT, 96, 110.0, count=1)[0], far_count=1)
    many = dataclasses.replace(hourly(PAYMENT, 96, 110.0, count=100)[0], far_count=100)
    assert is_usual(slow, one, usual, sigma=0.5)
    assert not is_usual(slow, many, usual, sigma=0.5)
    assert not is_usual(slow, one, usual, sigma=0.0)
