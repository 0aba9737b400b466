"""Section N of `make bench`: its setting, and the synthetic series it times the cycle on."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from aiops_engine.metrics import MetricConfig, judge
from bench import metric_history as history
from bench.config import Config, ConfigError

END = datetime(2025, 1, 6, 11, 59, tzinfo=UTC)


def test_the_series_counts_default_to_1k_and_10k_and_are_sorted() -> None:
    assert Config.from_env({}).metric_series == (1_000, 10_000)
    assert Config.from_env({"BENCH_METRIC_SERIES": "300 20"}).metric_series == (20, 300)
    with pytest.raises(ConfigError, match="at least 10"):
        Config.from_env({"BENCH_METRIC_SERIES": "5"})


def test_a_window_holds_one_gauge_point_a_series_inside_it() -> None:
    series = history.fleet(25)
    assert len({s.name for s in series}) == 25
    assert len({s.service for s in series}) == 3  # ten series a service
    rows = history.window_rows(series, END, 5.0, random.Random(1))
    assert [row[1] for row in rows] == [s.name for s in series]
    assert all(END <= row[0] < END + timedelta(seconds=5) and row[4] == "gauge" for row in rows)


def test_each_series_holds_its_own_copy_and_is_judged_as_the_prototype_at_its_size() -> None:
    """No object of a season shared (memory is measured per series), and a series `factor`
    times the prototype's size gets the prototype's verdict, scaled."""
    config = MetricConfig()
    proto = history.prototype(2, END, config)
    one, other = history.fleet(2)
    held = history.states(proto, [one, other])
    assert held[other.name].season.ids is not held[one.name].season.ids
    assert held[other.name].season == proto.season
    at, value = END + timedelta(seconds=30), history.value(END, random.Random(2))
    _, mine = judge(proto, proto.series, at, value, config)
    _, theirs = judge(held[other.name], other.name, at, value * other.factor, config)
    assert theirs.score == pytest.approx(mine.score)
    assert theirs.expected == pytest.approx((mine.expected or 0.0) * other.factor)
