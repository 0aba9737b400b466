"""A series' season: its shape at this time of the day and of the week, from the same hourly
history the latency detector keeps (detection.season): the same hour of each of the last
seven days once `seasonal_min_days` are known, or of the same weekday in each of the last
two weeks.

A shape, not a value: each hour is remembered against the day it ended (the mean of the 24
hours to it), so the season says "the afternoon is this much above the day", and a new
normal (the whole day higher since a deploy) is a change of level alone, which the fits
over the season follow; the season stays right through it. Within an hour the shape is
interpolated between the two nearest hours, so a steep daily ramp is followed, not stepped."""

from __future__ import annotations

import bisect
import dataclasses
import math
import statistics
from array import array
from collections.abc import Sequence
from datetime import datetime

from aiops_engine.detection.season import DAY_H, HOUR_S, WEEK_H, WEEKS, hour_of

from .config import MetricConfig
from .model import ValueHour, ValueSeason

_MIN_POINTS = 3  # points an hour needs before its mean says anything
_DAY_KNOWN = 22  # hours of the 24 to an hour that tell the level of its day
DAYS_BACK = tuple(d * DAY_H for d in range(1, 8))
WEEKS_BACK = tuple(w * WEEK_H for w in range(1, WEEKS + 1))


def fold(season: ValueSeason, at: datetime, value: float, config: MetricConfig) -> ValueSeason:
    """`season` with `value` summed into its hour; a point older than that hour is ignored."""
    hour = hour_of(at)
    current = season.current
    if current is not None and hour < current.hour:
        return season
    if current is None or hour > current.hour:
        if current is not None and current.points:
            season = _ended(season, current, kept=hour - config.season_days * DAY_H)
        current = ValueHour(hour)
    added = dataclasses.replace(
        current,
        points=current.points + 1,
        total=current.total + value,
        squares=current.squares + value * value,
    )
    return dataclasses.replace(season, current=added)


def restored(hours: Sequence[ValueHour], current: ValueHour | None) -> ValueSeason:
    """A season as stored (each hour's sums, oldest first; the day levels are derived, not
    kept): every ended hour given its day's level again, as `fold` gave it when it ended
    (in one pass: a new leader restores two weeks of 10,000 series' hours)."""
    ids = array("q", [h.hour for h in hours])
    means = [h.mean for h in hours]
    levels = array("d")
    first = 0
    for i, hour in enumerate(ids):
        while ids[first] < hour - DAY_H + 1:
            first += 1
        day = means[first : i + 1]
        levels.append(statistics.fmean(day) if len(day) >= _DAY_KNOWN else math.nan)
    return ValueSeason(
        ids,
        array("q", [h.points for h in hours]),
        array("d", [h.total for h in hours]),
        array("d", [h.squares for h in hours]),
        levels,
        current,
    )


def _ended(season: ValueSeason, hour: ValueHour, *, kept: int) -> ValueSeason:
    """`season` with `hour` ended (and the hours before `kept` forgotten): it gets the level
    of the day it ended, the mean of the hours of the 24 to it that have points (none before
    most of them are known: part of a day is not its level)."""
    first = bisect.bisect_left(season.ids, kept)
    day = bisect.bisect_left(season.ids, hour.hour - DAY_H + 1)
    means = [t / n for t, n in zip(season.totals[day:], season.points[day:], strict=True)]
    means.append(hour.mean)
    level = statistics.fmean(means) if len(means) >= _DAY_KNOWN else math.nan
    return ValueSeason(
        season.ids[first:] + array("q", [hour.hour]),
        season.points[first:] + array("q", [hour.points]),
        season.totals[first:] + array("d", [hour.total]),
        season.squares[first:] + array("d", [hour.squares]),
        season.levels[first:] + array("d", [level]),
        season.current,
    )


def daily(season: ValueSeason, at: datetime, config: MetricConfig) -> tuple[float, int] | None:
    """How far from its day's level the series usually is at `at`'s time of day: the median
    over the last seven days, and how many days it is the median of."""
    return _profile(season, at, DAYS_BACK, config.seasonal_min_days)


def weekly(season: ValueSeason, at: datetime) -> tuple[float, int] | None:
    """How far from its day's level the series usually is at `at`'s time of the week: the
    last two weeks' (or the last week's, until there are two), and how many weeks. Hour by
    hour, not interpolated: what a week adds to a day is mostly a step at midnight (the
    weekend), which an interpolation would smear over the hour before it."""
    return _profile(season, at, WEEKS_BACK, 1, smooth=False)


def _profile(
    season: ValueSeason, at: datetime, back: Sequence[int], need: int, *, smooth: bool = True
) -> tuple[float, int] | None:
    if not season.ids:
        return None
    hours_now = at.timestamp() / HOUR_S
    if smooth:
        found = [v for lag in back if (v := _at(season, hours_now - lag)) is not None]
    else:
        hour = math.floor(hours_now)
        found = [v for lag in back if (v := _shape(season, hour - lag)) is not None]
    return (statistics.median(found), len(found)) if len(found) >= need else None


def _at(season: ValueSeason, moment: float) -> float | None:
    """The series' shape at `moment` (fractional hours since the epoch): between those of the
    two hours whose middles are nearest, or the one of them that is known."""
    before = math.floor(moment - 0.5)
    first, second = _shape(season, before), _shape(season, before + 1)
    if first is None or second is None:
        return first if second is None else second
    share = moment - (before + 0.5)
    return first + share * (second - first)


def _shape(season: ValueSeason, hour: int) -> float | None:
    i = bisect.bisect_left(season.ids, hour)
    if i == len(season.ids) or season.ids[i] != hour or season.points[i] < _MIN_POINTS:
        return None
    level = season.levels[i]
    return None if math.isnan(level) else season.totals[i] / season.points[i] - level
