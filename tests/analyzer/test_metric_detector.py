"""The metric detector on the shapes operators watch: a level shift adopted as the new normal,
daily cycles learned, drops found where they matter, each series judged by its own noise."""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from aiops_engine.metrics import (
    Direction,
    Judgement,
    MetricConfig,
    MetricState,
    accept_new_normal,
    judge,
    restored_season,
)

T0 = datetime(2026, 1, 5, tzinfo=UTC)
CONFIG = MetricConfig()
STEP = 300  # five-minute points
DAY = 86_400 // STEP


def judged(
    values: Sequence[float], direction: Direction = Direction.BOTH, step: int = STEP
) -> tuple[list[Judgement], MetricState | None]:
    state: MetricState | None = None
    verdicts = []
    for i, value in enumerate(values):
        state, verdict = judge(
            state, "s", T0 + timedelta(seconds=i * step), value, CONFIG, direction
        )
        verdicts.append(verdict)
    return verdicts, state


def onsets(verdicts: Sequence[Judgement]) -> list[int]:
    """Where a run of anomalous points begins: what opens an incident."""
    return [
        i
        for i, v in enumerate(verdicts)
        if v.anomalous and (i == 0 or not verdicts[i - 1].anomalous)
    ]


def daily(days: int, seed: int, peak: float = 3.0, noise: float = 0.05) -> list[float]:
    """A daily cycle, the afternoon `peak` times the night's trough, with relative noise."""
    rnd = random.Random(seed)
    return [
        100 * (1 + (peak - 1) * (0.5 - 0.5 * math.cos(2 * math.pi * (i % DAY) / DAY)))
        * (1 + rnd.gauss(0, noise))
        for i in range(days * DAY)
    ]  # fmt: skip


def test_daily_cycles_raise_no_alarm_after_the_first_week() -> None:
    verdicts, _ = judged(daily(14, seed=1))
    assert [i for i in onsets(verdicts) if i >= 7 * DAY] == []


def test_a_level_shift_alarms_then_is_adopted_as_the_new_normal() -> None:
    """A deploy that doubles a series for good: one alarm at the shift, which ends within the
    new-normal period with "new normal since" — not an alarm for the rest of the stream."""
    shift = 5 * DAY
    values = [v * (2.0 if i >= shift else 1.0) for i, v in enumerate(daily(10, seed=2))]
    verdicts, _ = judged(values)
    assert [i for i in onsets(verdicts) if i >= 3 * DAY] == [shift]
    adopted = [i for i, v in enumerate(verdicts) if v.new_normal_since and i >= shift]
    assert adopted
    assert adopted[0] - shift <= CONFIG.new_normal_after.total_seconds() / STEP
    assert verdicts[adopted[0]].new_normal_since == verdicts[shift].at
    assert "new normal since" in verdicts[adopted[0]].explanation
    assert not any(v.anomalous for v in verdicts[adopted[0] :])


def test_a_drop_is_found_when_the_series_goes_wrong_downwards_only() -> None:
    """Conversion halves for an hour: found at once with direction down or both, never with
    direction up; and when it comes back it is a recovery, not a second alarm."""
    dip = range(6 * DAY, 6 * DAY + 12)
    values = [v * (0.5 if i in dip else 1.0) for i, v in enumerate(daily(8, seed=3))]
    for direction in (Direction.DOWN, Direction.BOTH):
        verdicts, _ = judged(values, direction)
        assert [i for i in onsets(verdicts) if i >= 3 * DAY] == [dip.start]
    verdicts, _ = judged(values, Direction.UP)
    assert [i for i in onsets(verdicts) if i >= 3 * DAY] == []


def test_each_series_is_judged_by_its_own_noise() -> None:
    """A 1.5x step on a quiet series is found; 3x wiggles on a noisy one are not."""
    rnd = random.Random(4)
    quiet = [50 * (1 + rnd.gauss(0, 0.02)) * (1.5 if i >= 500 else 1) for i in range(600)]
    verdicts, _ = judged(quiet, step=60)
    assert 500 in onsets(verdicts)
    noisy = [50 * math.exp(rnd.gauss(0, 0.6)) for _ in range(600)]
    verdicts, _ = judged(noisy, step=60)
    assert len(onsets(verdicts)) <= 2


def test_a_series_that_sat_at_zero_alarms_when_it_moves() -> None:
    verdicts, _ = judged([0.0] * 200 + [3.0], step=60)
    assert onsets(verdicts) == [200]
    assert verdicts[200].expected == 0.0


def test_the_score_grades_how_far_a_point_strays() -> None:
    """Further from the expected value, a higher score: anomalies rank."""
    rnd = random.Random(5)
    _, state = judged([100 * (1 + rnd.gauss(0, 0.05)) for _ in range(300)], step=60)
    at = T0 + timedelta(minutes=301)
    scores = [judge(state, "s", at, value, CONFIG)[1].score for value in (101, 108, 115, 150)]
    assert scores == sorted(scores)
    assert scores[0] < 0.9 < scores[-1]


def test_a_user_accepts_a_new_normal_at_once() -> None:
    """A change known to be intended is adopted now, not after the new-normal period."""
    rnd = random.Random(6)
    values = [100 * (1 + rnd.gauss(0, 0.03)) * (3 if i >= 300 else 1) for i in range(305)]
    verdicts, state = judged(values, step=60)
    assert state is not None
    assert state.run is not None
    assert verdicts[-1].anomalous
    accepted = accept_new_normal(state, verdicts[-1].at)
    assert accepted.new_normal_since == verdicts[300].at
    after, verdict = judge(accepted, "s", verdicts[-1].at + timedelta(minutes=1), 300.0, CONFIG)
    assert not verdict.anomalous
    assert verdict.expected is not None
    assert math.isclose(verdict.expected, 300, rel_tol=0.1)
    assert after is not None
    assert accept_new_normal(after, verdict.at) is after  # nothing to adopt


def test_a_return_to_the_old_level_after_a_new_normal_is_a_recovery() -> None:
    """An outage that outlasts the new-normal wait is adopted; when the series comes back to
    where it was, that is said as a recovery, not raised as a second anomaly."""
    outage = range(5 * DAY, 5 * DAY + 36)  # three hours at a third
    values = [v / (3 if i in outage else 1) for i, v in enumerate(daily(7, seed=7))]
    verdicts, _ = judged(values)
    assert [i for i in onsets(verdicts) if i >= 3 * DAY] == [outage.start]
    back = verdicts[outage.stop]
    assert not back.anomalous
    assert "back to its normal" in back.explanation


def test_a_weekend_is_usual_once_a_week_of_it_is_known() -> None:
    """Weekends at half the weekdays: the first is news, the second is the season."""

    def weekly(i: int) -> float:
        weekend = (i // DAY) % 7 >= 5
        return 0.5 if weekend else 1.0

    values = [v * weekly(i) for i, v in enumerate(daily(14, seed=8))]
    verdicts, _ = judged(values)
    assert [i for i in onsets(verdicts) if i >= 7 * DAY] == []


def test_a_season_stored_without_its_day_levels_is_restored_as_it_was() -> None:
    """Storage keeps each hour's sums; the day levels the shapes need are derived again on
    loading, so a restarted analyzer judges by the same season."""
    _, state = judged(daily(4, seed=9))
    assert state is not None
    season = state.season
    assert any(hour.day_level is not None for hour in season.hours)
    stored = [dataclasses.replace(hour, day_level=None) for hour in season.hours]
    assert restored_season(stored, season.current) == season
