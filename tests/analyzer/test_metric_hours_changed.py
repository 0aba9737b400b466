"""Which of a series' hours a cycle writes (`metric_states.save_hours`): found from the season's
arrays when an hour ends, as the hour-by-hour comparison finds them, and fast."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from aiops_engine.metrics import MetricConfig, MetricState, ValueHour, ValueSeason, judge
from analyzer.store.metric_states import _changed

T0 = datetime(2021, 9, 1, tzinfo=UTC)
CONFIG = MetricConfig(min_points=5, season_days=8)
SERIES = "svc:queue.depth"

Sums = tuple[int, int, float, float]


def sums(hours: Iterable[ValueHour | None]) -> list[Sums]:
    return [(h.hour, h.points, h.total, h.squares) for h in hours if h is not None]


def hour_by_hour(after: MetricState, before: MetricState | None) -> list[Sums]:
    """What differs, the slow way: every hour as an object, compared by its sums."""
    old = before.season if before is not None else ValueSeason()
    seen = set(sums((*old.hours, old.current)))
    return [h for h in sums((*after.season.hours, after.season.current)) if h not in seen]


def states(days: int) -> list[MetricState]:
    """A series judged every 10 minutes for `days`, past its season (the oldest hours go)."""
    found: list[MetricState] = []
    state: MetricState | None = None
    for i in range(days * 144):
        value = 50.0 + (i % 7) + (i // 144) % 3
        state, _ = judge(state, SERIES, T0 + timedelta(minutes=10 * i), value, CONFIG)
        assert state is not None
        found.append(state)
    return found


def test_every_cycle_writes_what_the_hour_by_hour_comparison_finds() -> None:
    """The hour being filled, every cycle; the hour that ended was written while it was being
    filled, and the oldest are forgotten past the season without a write."""
    history = states(CONFIG.season_days + 2)
    ended = 0
    for before, after in zip([None, *history], history, strict=False):
        known = {SERIES: before} if before is not None else {}
        written = sums(_changed(after, known))
        assert written == hour_by_hour(after, before)
        if before is not None and after.season.ids is not before.season.ids:
            ended += 1
            assert written == sums([after.season.current])
    assert ended >= (CONFIG.season_days + 2) * 24 - 1  # (and once when the scale settles)
    assert len(history[-1].season.ids) <= CONFIG.season_days * 24


def test_past_hours_that_moved_are_all_written() -> None:
    """A season whose past sums moved (as a new normal may move them): every hour."""
    before = states(2)[-1]
    hours = tuple(dataclasses.replace(h, total=h.total + 1) for h in before.season.hours)
    moved = dataclasses.replace(before, season=ValueSeason.of(hours, before.season.current))
    assert sums(_changed(moved, {SERIES: before})) == sums(hours)


def test_the_hour_an_hour_ends_is_found_without_building_every_hour() -> None:
    """Ten thousand series ending an hour at once: well under a second (building each
    series' two weeks of hours as objects took seconds)."""
    history = states(15)
    after = next(s for s in reversed(history) if s.season.ids is not history[-1].season.ids)
    before = history[history.index(after) - 1]
    began = time.perf_counter()
    for _ in range(10_000):
        _changed(after, {SERIES: before})
    assert time.perf_counter() - began < 1.0
