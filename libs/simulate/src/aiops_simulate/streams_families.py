"""The families of labelled metric streams, and `make_stream` to draw one.

Each family is a function of a seeded draft: it draws the normal (a level, a
daily and perhaps weekly season, perhaps a trend) and lays its faults on it,
labelling each. The three without faults (daily, weekly, trend) are there
for the false alarms a detector raises on what is only the series' habit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

from .streams import DAY, DEFAULT_START, HOUR, MINUTE, Direction, Stream
from .streams_draft import Draft

Family = Callable[[Draft, bool], None]  # (draft, late): lays the normal and the faults

# A kind's normal level, drawn log-uniformly, and its daily peak/trough ratio, uniformly.
LEVELS = {
    "latency": (60.0, 400.0), "throughput": (20.0, 2000.0), "error_rate": (0.005, 0.03),
    "conversion": (0.02, 0.06), "cpu": (25.0, 45.0), "queue_depth": (2.0, 8.0),
    "revenue": (1e3, 1e5), "count": (0.8, 3.0), "custom": (1.0, 1000.0),
}  # fmt: skip
RATIOS = {
    "latency": (1.1, 1.6), "throughput": (2.0, 3.0), "error_rate": (1.0, 1.5),
    "conversion": (1.1, 1.5), "cpu": (1.3, 1.8), "queue_depth": (1.5, 2.5),
    "revenue": (2.0, 3.0), "count": (1.5, 3.0), "custom": (1.0, 2.5),
}  # fmt: skip
BUSY = ("throughput", "revenue", "count")  # kinds whose weekends may be quieter


def _log_uniform(d: Draft, lo: float, hi: float) -> float:
    return math.exp(d.rng.uniform(math.log(lo), math.log(hi)))


def _normal(d: Draft, level: float | None = None, ratio: float | None = None) -> None:
    """The series' habit: a level, a daily cycle, and quieter weekends for some busy kinds."""
    weekend = d.rng.uniform(0.6, 0.9) if d.kind in BUSY and d.rng.random() < 0.5 else 1.0
    d.season(
        level if level is not None else _log_uniform(d, *LEVELS[d.kind]),
        ratio if ratio is not None else d.rng.uniform(*RATIOS[d.kind]),
        weekend,
    )


def _points(d: Draft, seconds: float) -> int:
    return max(1, math.ceil(seconds / d.step_s))


def daily(d: Draft, late: bool) -> None:
    """A daily cycle only (peak 2-3x the trough): nothing in it is an anomaly."""
    d.season(_log_uniform(d, *LEVELS[d.kind]), d.rng.uniform(2.0, 3.0))


def weekly(d: Draft, late: bool) -> None:
    """A daily cycle, and weekends at 0.5-0.8x the weekdays: nothing in it is an anomaly."""
    level = _log_uniform(d, *LEVELS[d.kind])
    d.season(level, d.rng.uniform(2.0, 3.0), d.rng.uniform(0.5, 0.8))


def trend(d: Draft, late: bool) -> None:
    """Slow linear growth (+20% to +100% over the stream): a habit, not an anomaly."""
    _normal(d)
    d.trend(d.rng.uniform(0.2, 1.0))


def noise(d: Draft, late: bool) -> None:
    """The noise's variance x3-6 for 2-6 hours, the mean unchanged."""
    _normal(d)
    longest = 6 * HOUR
    for i0 in d.onsets(1, longest, late):
        i1 = i0 + _points(d, d.rng.uniform(2 * HOUR, longest)) - 1
        factor = d.rng.uniform(3.0, 6.0)
        d.params["variance_x"] = factor
        for i in range(i0, min(i1 + 1, d.n)):
            d.noise[i] = math.sqrt(factor)
        d.label(i0, i1, "noise", 0)


def spike(d: Draft, late: bool) -> None:
    """2-4 spikes of 1-3 points, each 5-20 noise sds, the way the direction allows."""
    count = d.rng.randint(2, 4)
    _normal(d)
    for i0 in d.onsets(count, 30 * MINUTE, late, gap_s=2 * HOUR):
        width, size, sign = d.rng.randint(1, 3), d.rng.uniform(5.0, 20.0), d.sign()
        for i in range(i0, i0 + width):
            d.bumps[i] = sign * size
        d.label(i0, i0 + max(width - 1, _points(d, 30 * MINUTE)), "spike", sign)


def dip(d: Draft, late: bool) -> None:
    """1-2 dips: down 30-70% for 20 minutes to 2 hours (a throughput, a conversion rate)."""
    _normal(d)
    longest = 2 * HOUR
    for i0 in d.onsets(d.rng.randint(1, 2), longest, late, gap_s=3 * HOUR):
        d.sign(up_ok=False)
        i1 = i0 + _points(d, d.rng.uniform(20 * MINUTE, longest)) - 1
        d.scale(i0, i1 + 1, 1 - d.rng.uniform(0.3, 0.7))
        d.label(i0, i1, "dip", -1)


def level_shift(d: Draft, late: bool) -> None:
    """A deploy moves the level for good: x1.5-3 up or /2 down. The first two hours are the
    labelled window; the level after that is the new normal."""
    _normal(d)
    [i0] = d.onsets(1, 2 * HOUR, late)
    sign = d.sign()
    factor = d.rng.uniform(1.5, 3.0) if sign > 0 else 0.5
    d.params.update(factor=factor, shift_index=i0)
    d.scale(i0, d.n, factor)
    d.label(i0, i0 + _points(d, 2 * HOUR), "level_shift", sign)


def flatline(d: Draft, late: bool) -> None:
    """Stuck for 1-4 hours: at 0 (a feed that died), or at one value (a frozen gauge)."""
    _normal(d)
    longest = 4 * HOUR
    [i0] = d.onsets(1, longest, late)
    i1 = i0 + _points(d, d.rng.uniform(HOUR, longest)) - 1
    at_zero = d.rng.random() < 0.5 and d.direction != "up"
    value = 0.0 if at_zero else float(f"{d.mean[i0]:.3g}")
    d.params["stuck_at"] = value
    for i in range(i0, min(i1 + 1, d.n)):
        d.fixed[i] = value
    d.label(i0, i1, "flatline", -1 if at_zero else 0)


def drift(d: Draft, late: bool) -> None:
    """A ramp over 3-8 hours to 1.5-2x (or down to 1/1.5-1/2), held after it: a leak, a slow
    build-up. The ramp is labelled; what it leads to is the new normal."""
    _normal(d)
    longest = 8 * HOUR
    [i0] = d.onsets(1, longest, late)
    i1 = i0 + _points(d, d.rng.uniform(3 * HOUR, longest)) - 1
    sign = d.sign()
    target = d.rng.uniform(1.5, 2.0) ** sign
    d.params["factor"] = target
    for i in range(i0, d.n):
        d.mean[i] *= 1 + (target - 1) * min(1.0, (i - i0 + 1) / (i1 - i0 + 1))
    d.label(i0, i1, "drift", sign)


def saturation(d: Draft, late: bool) -> None:
    """A CPU at ~40% pinned at 60-95% (capped at 100) for 30 minutes to 3 hours, once or twice."""
    _normal(d, level=d.rng.uniform(35.0, 45.0), ratio=d.rng.uniform(1.1, 1.4))
    longest = 3 * HOUR
    for i0 in d.onsets(d.rng.randint(1, 2), longest, late, gap_s=3 * HOUR):
        i1 = i0 + _points(d, d.rng.uniform(30 * MINUTE, longest)) - 1
        busy = d.rng.uniform(60.0, 95.0)
        for i in range(i0, min(i1 + 1, d.n)):
            d.mean[i] = busy
        d.label(i0, i1, "saturation", 1)


def tiny(d: Draft, late: bool) -> None:
    """An error rate of ~1e-3 jumping 8-40x for 10 minutes to 2 hours."""
    _normal(d, level=_log_uniform(d, 5e-4, 3e-3))
    longest = 2 * HOUR
    for i0 in d.onsets(d.rng.randint(1, 2), longest, late, gap_s=3 * HOUR):
        i1 = i0 + _points(d, d.rng.uniform(10 * MINUTE, longest)) - 1
        d.scale(i0, i1 + 1, d.rng.uniform(8.0, 40.0))
        d.label(i0, i1, "jump", 1)


def huge(d: Draft, late: bool) -> None:
    """A value of 1e9-1e12 changing 1.5-2x (up or down) for 30 minutes to 3 hours."""
    _normal(d, level=_log_uniform(d, 1e9, 1e12))
    longest = 3 * HOUR
    for i0 in d.onsets(d.rng.randint(1, 2), longest, late, gap_s=3 * HOUR):
        i1 = i0 + _points(d, d.rng.uniform(30 * MINUTE, longest)) - 1
        sign = d.sign()
        d.scale(i0, i1 + 1, d.rng.uniform(1.5, 2.0) ** sign)
        d.label(i0, i1, "jump" if sign > 0 else "drop", sign)


def counts(d: Draft, late: bool) -> None:
    """A few events a point (Poisson, 0-5): a drop to none for 1-3 hours, or a 4-8x burst for
    20 minutes to 2 hours."""
    _normal(d)
    longest = 3 * HOUR
    for i0 in d.onsets(d.rng.randint(1, 2), longest, late, gap_s=3 * HOUR):
        sign = d.sign()
        if sign < 0:
            i1 = i0 + _points(d, d.rng.uniform(HOUR, longest)) - 1
            d.scale(i0, i1 + 1, 0.0)
        else:
            i1 = i0 + _points(d, d.rng.uniform(20 * MINUTE, 2 * HOUR)) - 1
            d.scale(i0, i1 + 1, d.rng.uniform(4.0, 8.0))
        d.label(i0, i1, "drop" if sign < 0 else "jump", sign)


FAMILIES: dict[str, Family] = {
    "daily": daily, "weekly": weekly, "trend": trend, "noise": noise, "spike": spike,
    "dip": dip, "level_shift": level_shift, "flatline": flatline, "drift": drift,
    "saturation": saturation, "tiny": tiny, "huge": huge, "counts": counts,
}  # fmt: skip
# The kinds each family is drawn for (the seed picks one unless a kind is given).
FAMILY_KINDS: dict[str, tuple[str, ...]] = {
    "daily": ("throughput", "revenue", "latency"), "weekly": ("throughput", "revenue"),
    "trend": ("throughput", "latency", "custom"), "noise": ("latency", "throughput", "custom"),
    "spike": ("latency", "throughput", "cpu", "custom"), "dip": ("throughput", "conversion"),
    "level_shift": ("latency", "throughput", "custom"), "flatline": ("throughput", "custom"),
    "drift": ("latency", "cpu", "throughput"), "saturation": ("cpu",), "tiny": ("error_rate",),
    "huge": ("revenue", "custom"), "counts": ("count",),
}  # fmt: skip
# Families whose faults go both ways, whatever their kind's usual direction.
FAMILY_DIRECTIONS: dict[str, Direction] = {"huge": "both", "flatline": "both"}


def make_stream(
    family: str,
    seed: int,
    *,
    step_s: int = 60,
    days: float | None = None,
    kind: str | None = None,
    direction: Direction | None = None,
    late: bool = False,
    start: datetime = DEFAULT_START,
    name: str | None = None,
) -> Stream:
    """One stream of `family`, drawn from `seed`: the same arguments, the same stream.

    `days` defaults to 5 at 1-minute steps and 14 at coarser ones; `late` puts the faults
    after the first week (the stream must be longer than that).
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown stream family {family!r}; one of {', '.join(FAMILIES)}")
    kinds = FAMILY_KINDS[family]
    chosen = kind or kinds[seed % len(kinds)]
    days = days if days is not None else (5.0 if step_s <= 60 else 14.0)
    if late and days * DAY < 8 * DAY + 6 * HOUR:
        raise ValueError("late faults need a stream longer than 8.25 days")
    draft = Draft.new(family, seed, chosen, direction or FAMILY_DIRECTIONS.get(family),
                      step_s, days, start)  # fmt: skip
    FAMILIES[family](draft, late)
    return draft.finish(name)
