"""One series, point by point: a verdict on each value against what the series usually does,
and the state learned from it. Pure: the analyzer's cycle, `aiops replay --metrics` and the
benchmark drive the same function.

Values are judged on the series' own scale (`MetricState.scale`) and against its own
noise, so a CPU at 40 % and a counter at 1e12 are judged alike, and a series that sat at 0
has a floor for a noise, not a divisor of 0.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from datetime import datetime, timedelta
from functools import lru_cache
from statistics import NormalDist

from .adoption import ABS_TO_SD, adopted, recovered
from .config import MetricConfig
from .explained import back_to_normal, explain
from .leans import leaned
from .model import Direction, Fit, Judgement, Leans, MetricState, Run, ValueSeason
from .scale import SCALE_SHARE, from_scale, to_scale
from .season import daily, fold, weekly


def judge(
    state: MetricState | None,
    series: str,
    at: datetime,
    value: float,
    config: MetricConfig,
    direction: Direction = Direction.BOTH,
) -> tuple[MetricState | None, Judgement]:
    """`value` at `at` judged against `state`, and the state after it.

    A value that is not a finite number, or a point not newer than the last
    one judged, is refused (named in the verdict) and leaves the state as it was.
    """
    if not math.isfinite(value):
        return state, _refused(series, at, value, "not a finite number")
    if state is None:
        first = MetricState(series, at, 0.0, Fit(), warmup=((at, value),))
        return first, _learning(series, at, value)
    if at <= state.updated_at:
        return state, _refused(series, at, value, "not newer than the last point judged")
    if not state.settled:
        return _warming(state, at, value, config), _learning(series, at, value)
    if state.scale <= 0 and value != 0:
        state = dataclasses.replace(state, scale=abs(value) * SCALE_SHARE)
    scale = state.scale
    y = to_scale(value, scale)
    step = min((at - state.updated_at).total_seconds(), config.new_normal_after.total_seconds())
    bases, trusted = _bases(state, at, config)
    fits = (state.plain, state.daily, state.weekly)
    season = fold(state.season, at, y, config)
    active = _active(fits, bases, y, step, config)
    if active is None:
        return _learned_point(state, at, y, config), _learning(series, at, value)

    base = bases[active]
    assert base is not None  # _active picks a fit whose base is known
    fit = fits[active]
    expected = base + _predicted(fit, step, config)
    spread = max(fit.spread, config.min_spread)
    surprise = (y - expected) / spread
    # Before a season is known, the series' daily shape is not: only a larger surprise
    # counts, and a lean (a daily ramp the plain fit lags behind) is no evidence.
    seasonal = any(
        base is not None and fit.points >= config.min_points
        for fit, base in zip(fits[1:], bases[1:], strict=True)
    )
    p_value = config.p_value if seasonal else config.learning_p_value
    leans = leaned(state.leans, surprise, direction, config) if seasonal else Leans()
    chance = min(_point_chance(surprise, direction), leans.chance(config))
    anomalous = chance < p_value
    side = state.run.sign if state.run is not None else (1 if surprise > 0 else -1)
    run = _run_after(state.run, at, y - expected, anomalous, leans.holding(side))
    width = _band_z(p_value, direction) * spread
    verdict = _verdict(series, at, value, expected, width, scale, 1.0 - chance, anomalous)
    last = state.adopted
    if anomalous and state.run is None and last is not None:
        undone = recovered(state, y, expected, width, at, config)
        if undone is not None:  # the old level, soon after a new one was adopted: recovered
            normal = _verdict(series, at, value, expected - last.shift, width, scale, 0.0, False)
            after = dataclasses.replace(
                undone, updated_at=at, season=fold(undone.season, at, y, config)
            )
            return after, dataclasses.replace(normal, explanation=back_to_normal(normal, last))
    if run is not None and at - run.since >= config.new_normal_after:
        after = adopted(_with(state, at, fits, season), run, at)
        shifted = _verdict(series, at, value, expected + run.level, width, scale, 0.0, False)
        return after, dataclasses.replace(
            shifted,
            new_normal_since=run.since,
            explanation=explain(verdict, run=run, adopted=True),
        )
    if anomalous or run is not None:  # a run is judged as a whole, never learned as it goes
        # Remembered for its hour only once the season outvotes a one-off day: a fault on
        # day two must not be what day three is judged by; a nightly habit is still learned.
        kept = season if trusted else state.season
        held = dataclasses.replace(state, updated_at=at, leans=leans, run=run, season=kept)
        return held, dataclasses.replace(verdict, explanation=explain(verdict, run=run))
    learned = _learned(fits, bases, y, step, config)
    after = dataclasses.replace(_with(state, at, learned, season), leans=leans)
    return after, dataclasses.replace(verdict, explanation=explain(verdict, run=None))


def _warming(state: MetricState, at: datetime, value: float, config: MetricConfig) -> MetricState:
    """`state` with one more warm-up point; with enough of them, the scale is settled on their
    median size and they are learned on it, in order."""
    points = (*state.warmup, (at, value))
    if len(points) < config.min_points:
        return dataclasses.replace(state, updated_at=at, warmup=points)
    sizes = [abs(v) for _, v in points]
    scale = SCALE_SHARE * (statistics.median(sizes) or max(sizes))
    (first_at, first), *rest = points
    y = to_scale(first, scale)
    settled = MetricState(
        state.series, first_at, scale, Fit(level=y, points=1),
        season=fold(ValueSeason(), first_at, y, config), settled=True,
    )  # fmt: skip
    for moment, value_then in rest:
        settled = _learned_point(settled, moment, to_scale(value_then, scale), config)
    return settled


def _learned_point(state: MetricState, at: datetime, y: float, config: MetricConfig) -> MetricState:
    """`state` after learning `y` (on its scale) at `at`, unjudged."""
    step = min((at - state.updated_at).total_seconds(), config.new_normal_after.total_seconds())
    bases, _ = _bases(state, at, config)
    learned = _learned((state.plain, state.daily, state.weekly), bases, y, step, config)
    return _with(state, at, learned, fold(state.season, at, y, config))


def _verdict(
    series: str,
    at: datetime,
    value: float,
    expected: float,
    width: float,
    scale: float,
    score: float,
    anomalous: bool,
) -> Judgement:
    return Judgement(
        series=series,
        at=at,
        value=value,
        expected=from_scale(expected, scale),
        lower=from_scale(expected - width, scale),
        upper=from_scale(expected + width, scale),
        score=score,
        anomalous=anomalous,
    )


def _bases(
    state: MetricState, at: datetime, config: MetricConfig
) -> tuple[tuple[float | None, ...], bool]:
    """What each fit adds its level to at `at` (nothing, the daily shape, the weekly shape;
    None: not known), and whether the daily shape is the median of enough days to outvote a
    one-off day."""
    by_day, by_week = daily(state.season, at, config), weekly(state.season, at)
    trusted = by_day is not None and by_day[1] >= config.seasonal_trusted_days
    return (0.0, by_day and by_day[0], by_week and by_week[0]), trusted


def _active(
    fits: tuple[Fit, ...],
    bases: tuple[float | None, ...],
    y: float,
    step: float,
    config: MetricConfig,
) -> int | None:
    """The fit to judge `y` by: once a season is known, whichever of the daily and weekly
    fits finds it least surprising (a weekend is usual to the weekly one, a weekday's
    peak to both); before, the plain fit, once it knows enough; None while learning."""
    ready = [
        i for i, (fit, base) in enumerate(zip(fits, bases, strict=True))
        if base is not None and fit.points >= config.min_points
    ]  # fmt: skip
    seasonal = [i for i in ready if i > 0] or ready

    def surprise(i: int) -> float:
        base = bases[i] or 0.0
        return abs(y - base - _predicted(fits[i], step, config)) / max(
            fits[i].spread, config.min_spread
        )

    return min(seasonal, key=surprise) if seasonal else None


def _predicted(fit: Fit, step: float, config: MetricConfig) -> float:
    """Where `fit` expects the series `step` seconds on: its trend followed for a while."""
    return fit.level + fit.trend * min(step, config.level_tau.total_seconds())


def _point_chance(surprise: float, direction: Direction) -> float:
    """The chance of a surprise this large in a direction that counts (normal tails)."""
    if not direction.allows(surprise):
        return 1.0
    tail = 0.5 * math.erfc(abs(surprise) / math.sqrt(2))
    return min(1.0, 2 * tail) if direction is Direction.BOTH else tail


@lru_cache(maxsize=16)
def _band_z(p_value: float, direction: Direction) -> float:
    tail = p_value / 2 if direction is Direction.BOTH else p_value
    return NormalDist().inv_cdf(1 - tail)


def _run_after(
    run: Run | None, at: datetime, surprise: float, anomalous: bool, leaning: float
) -> Run | None:
    """The run after this point: begun by an anomalous point, ended once its side's CUSUM is
    back to 0 without one; its level follows where the values sit."""
    if run is None:
        if not anomalous:
            return None
        return Run(since=at, level=surprise, sign=1 if surprise > 0 else -1)
    if not anomalous and leaning <= 0:
        return None
    alpha = max(1.0 / (run.points + 1), 0.1)
    return dataclasses.replace(
        run,
        level=run.level + alpha * (surprise - run.level),
        spread=run.spread + alpha * (abs(surprise - run.level) - run.spread),
        points=run.points + 1,
    )


def _learned(
    fits: tuple[Fit, ...],
    bases: tuple[float | None, ...],
    y: float,
    step: float,
    config: MetricConfig,
) -> tuple[Fit, ...]:
    plain, *seasonal = fits
    _, *seasonal_bases = bases
    return (
        _learn(plain, y, step, config.level_tau, config, trended=True),
        *(
            _learn(fit, y - base, step, config.seasonal_tau, config) if base is not None else fit
            for fit, base in zip(seasonal, seasonal_bases, strict=True)
        ),
    )


def _learn(
    fit: Fit, y: float, step: float, tau: timedelta, config: MetricConfig, trended: bool = False
) -> Fit:
    """`fit` after learning `y` (its base taken out), `step` seconds after the last point
    (Holt's linear method when `trended`, its level alone otherwise)."""
    if fit.points == 0:
        return Fit(level=y, points=1)
    warm = 1.0 / (fit.points + 1)
    alpha = max(warm, -math.expm1(-step / tau.total_seconds()))
    spread_alpha = max(warm, -math.expm1(-step / config.spread_tau.total_seconds()))
    predicted = _predicted(fit, step, config)
    surprise = y - predicted
    if fit.points >= config.min_points:  # a known fit moves only so far for one point
        bound = config.clamp_sigmas * max(fit.spread, config.min_spread)
        surprise = min(max(surprise, -bound), bound)
    level = predicted + alpha * surprise
    trend = fit.trend
    if trended and step >= 1.0:
        trend_alpha = -math.expm1(-step / (config.trend_tau.total_seconds()))
        trend += trend_alpha * ((level - fit.level) / step - trend)
    return Fit(
        level=level,
        spread=fit.spread + spread_alpha * (abs(surprise) * ABS_TO_SD - fit.spread),
        points=fit.points + 1,
        trend=trend,
    )


def _with(
    state: MetricState, at: datetime, fits: tuple[Fit, ...], season: ValueSeason
) -> MetricState:
    plain, daily_fit, weekly_fit = fits
    return dataclasses.replace(
        state, updated_at=at, plain=plain, daily=daily_fit, weekly=weekly_fit, leans=Leans(),
        run=None, season=season,
    )  # fmt: skip


def _learning(series: str, at: datetime, value: float) -> Judgement:
    return Judgement(series, at, value, None, None, None, 0.0, False, "still learning")


def _refused(series: str, at: datetime, value: float, why: str) -> Judgement:
    return Judgement(series, at, value, None, None, None, 0.0, False, why, refused=why)
