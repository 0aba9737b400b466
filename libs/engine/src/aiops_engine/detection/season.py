"""Seasonality: what a key usually looks like at this hour of the day and day of the week.

Every window a key sends is folded into the hour it falls in, anomalous
or not: a nightly batch that slows a database is flagged the first nights,
when nothing says it is usual, and must still be remembered. A one-off
fault is remembered too, but for one day of the several a season is judged
on, and it takes most of them to make a range usual:

- each past hour gives its range: how slow the key's window medians got
  (mean + `seasonal_sigmas` standard deviations, on a log scale), how many
  of its requests were far slow or failed, how quiet it got;
- a window's usual range is the median over the same hour of the last
  seven days, once `seasonal_min_days` of them are known, or what the same
  hour of the same weekday showed in each of the last two weeks (a weekend
  is not a weekday), whichever is wider;
- with the nearer neighbouring hour, so a spell that starts at half past
  is usual in both hours it spans.

An anomaly within that range is what this key does at this time
(`is_usual`): not reported, and a window within it is learned and lends
no run evidence (`is_usual_window`), so the baseline follows the spell.
Weeks of hourly sums per key are a few tens of kilobytes, and a cycle
looks them up only for the anomalies it found and the windows that are
slower or failing more than their key usually is.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from .baselines import MEDIAN_SE
from .config import DetectionConfig
from .model import Anomaly, AnomalyType, Hour, Season, WindowStats
from .scoring import binomial_upper_tail

HOUR_S = 3600
DAY_H, WEEK_H = 24, 168
WEEKS = 2  # weeks back a weekday's hour is looked up in
_FULL = 0.9  # an hour with fewer windows than this share of its length had empty ones
_MIN_WINDOWS, _MIN_REQUESTS = 3, 20  # what an hour needs to have a range
_Z = 2.0  # standard errors a handful of requests' median may stray by chance
_CHANCE = 1e-3  # far slow requests this probable at the hour's share are its usual


@dataclass(frozen=True, slots=True)
class Range:
    """How far a key usually goes at some hour: the most, and for traffic the least."""

    p50: float  # log1p(ms)
    far: float
    errors: float
    least_rate: float
    far_mean: float  # the hour's usual far slow share, for a handful of requests' chance


def hour_of(moment: datetime) -> int:
    return math.floor(moment.timestamp() / HOUR_S)


def fold(season: Season, window: WindowStats, config: DetectionConfig) -> Season:
    """`season` with `window` summed into its hour; a window older than that hour is ignored."""
    if window.count <= 0 or window.seconds <= 0:
        return season
    hour = hour_of(window.start)
    current, hours = season.current, season.hours
    if current is not None and hour < current.hour:
        return season
    if current is None or hour > current.hour:
        if current is not None:
            kept = hour - config.season_days * DAY_H
            hours = (*hours[bisect.bisect_left(hours, kept, key=_hour_key) :], current)
        current = Hour(hour)
    return Season(hours, _added(current, window))


def _added(hour: Hour, window: WindowStats) -> Hour:
    n = window.count
    p50 = math.log1p(max(window.p50_ms, 0.0))
    far, errors = window.far_rate, window.error_rate
    summed = dataclasses.replace(
        hour,
        windows=hour.windows + 1,
        least_rate=min(hour.least_rate, window.count / window.seconds),
    )
    if not all(map(math.isfinite, (p50, far, errors))):
        return summed
    return dataclasses.replace(
        summed,
        requests=hour.requests + n,
        p50=hour.p50 + n * p50,
        p50_sq=hour.p50_sq + n * p50 * p50,
        far=hour.far + n * far,
        far_sq=hour.far_sq + n * far * far,
        errors=hour.errors + n * errors,
        errors_sq=hour.errors_sq + n * errors * errors,
    )


def _hour_key(hour: Hour) -> int:
    return hour.hour


def _upper(total: float, squares: float, n: int, sigmas: float) -> float:
    mean = total / n
    return mean + sigmas * math.sqrt(max(squares / n - mean * mean, 0.0))


def _range(hour: Hour, config: DetectionConfig) -> Range | None:
    """An hour's range; None when too few requests in too few windows say."""
    if hour.windows < _MIN_WINDOWS or hour.requests < _MIN_REQUESTS:
        return None
    n, k = hour.requests, config.seasonal_sigmas
    full = hour.windows >= _FULL * HOUR_S / config.window_seconds
    return Range(
        p50=_upper(hour.p50, hour.p50_sq, n, k),
        far=_upper(hour.far, hour.far_sq, n, k),
        errors=_upper(hour.errors, hour.errors_sq, n, k),
        least_rate=hour.least_rate if full else 0.0,
        far_mean=hour.far / n,
    )


Pick = Callable[[Iterable[float]], float]


def _combined(ranges: list[Range], most: Pick, least: Pick) -> Range:
    """One range from several, measure by measure: `most` picks among their highs (how slow,
    how many failed), `least` among their lows (how quiet)."""
    return Range(
        p50=most(r.p50 for r in ranges),
        far=most(r.far for r in ranges),
        errors=most(r.errors for r in ranges),
        least_rate=least(r.least_rate for r in ranges),
        far_mean=most(r.far_mean for r in ranges),
    )


def _widest(ranges: list[Range]) -> Range:
    return _combined(ranges, max, min)


def _typical(ranges: list[Range]) -> Range:
    """What most of `ranges` reach: a one-off day is outvoted."""
    return _combined(ranges, statistics.median_low, statistics.median_high)


def _common(ranges: list[Range]) -> Range:
    """What every one of `ranges` reaches."""
    return _combined(ranges, min, max)


def usual_range(season: Season, at: datetime, config: DetectionConfig) -> Range | None:
    """The range a key usually has at `at`'s hour of day and day of week; None until
    `seasonal_min_days` days (or two weeks of that weekday) are known."""
    if not season.hours:
        return None
    moment = at.astimezone(UTC)
    hour = hour_of(moment)
    nearer = hour - 1 if moment.minute < 30 else hour + 1

    def back(hours_back: int) -> Range | None:
        found = [
            r for h in (hour - hours_back, nearer - hours_back) if (r := _lookup(season, h, config))
        ]
        return _widest(found) if found else None

    candidates = []
    days = [r for d in range(1, 8) if (r := back(d * DAY_H))]
    if len(days) >= config.seasonal_min_days:
        candidates.append(_typical(days))
    weeks = [r for w in range(1, WEEKS + 1) if (r := back(w * WEEK_H))]
    if len(weeks) == WEEKS:  # both weeks: one is an accident, two a weekday's habit
        candidates.append(_common(weeks))
    return _widest(candidates) if candidates else None


def _lookup(season: Season, hour: int, config: DetectionConfig) -> Range | None:
    hours = season.hours
    i = bisect.bisect_left(hours, hour, key=_hour_key)
    if i < len(hours) and hours[i].hour == hour:
        return _range(hours[i], config)
    return None


def is_usual(anomaly: Anomaly, window: WindowStats, usual: Range, sigma: float = 0.0) -> bool:
    """Whether `anomaly`, found on `window`, is within what its key usually does then;
    `sigma` is how widely one of its requests varies (log scale, baselines.request_sigma)."""
    if anomaly.type is AnomalyType.LATENCY:
        return _slow_as_usual(window, usual, sigma)
    if anomaly.type is AnomalyType.ERROR_SPIKE:
        return window.error_rate <= usual.errors
    if anomaly.type is AnomalyType.TIMEOUT:  # a timed-out call is a failed one too
        return window.timeout_rate <= usual.errors
    if anomaly.type is AnomalyType.SILENCE:
        return window.rate_per_s >= usual.least_rate
    return False


def is_usual_window(
    window: WindowStats, season: Season, config: DetectionConfig, sigma: float = 0.0
) -> bool:
    """Whether `window`'s latency and failures are all within its key's usual range at its
    hour: learned as the key's normal then, and no evidence of a fault for a run."""
    usual = usual_range(season, window.start, config)
    if usual is None or window.count <= 0:
        return False
    return _slow_as_usual(window, usual, sigma) and window.error_rate <= usual.errors


def _slow_as_usual(window: WindowStats, usual: Range, sigma: float) -> bool:
    """A window's median and far slow requests within the hour's range, give or take what
    chance does to a handful of requests: their median is one request's latency or two
    (wider by the key's own spread), their far share 0 or 1 (judged against the hour's)."""
    n = window.count
    if n <= 0:
        return True
    slack = _Z * MEDIAN_SE * sigma / math.sqrt(n)
    if math.log1p(max(window.p50_ms, 0.0)) > usual.p50 + slack:
        return False
    if window.far_rate <= usual.far or window.far_count is None:
        return True
    return binomial_upper_tail(window.far_count, n, usual.far_mean) >= _CHANCE
