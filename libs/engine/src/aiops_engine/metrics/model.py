"""The plain data metric detection works on: one series' points in, its state kept, verdicts out."""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .config import MetricConfig


class Direction(StrEnum):
    """Which way a series may go wrong: a slower call is bad, a busier one is not."""

    UP = "up"
    DOWN = "down"
    BOTH = "both"

    def allows(self, deviation: float) -> bool:
        if self is Direction.UP:
            return deviation > 0
        if self is Direction.DOWN:
            return deviation < 0
        return deviation != 0


class MetricKind(StrEnum):
    """What a series measures, for the direction it defaults to (`direction_of`)."""

    LATENCY = "latency"
    ERROR_RATE = "error_rate"
    THROUGHPUT = "throughput"
    CONVERSION = "conversion"
    REVENUE = "revenue"
    GAUGE = "gauge"


_DIRECTIONS = {
    MetricKind.LATENCY: Direction.UP,
    MetricKind.ERROR_RATE: Direction.UP,
    MetricKind.THROUGHPUT: Direction.BOTH,
    MetricKind.CONVERSION: Direction.DOWN,
    MetricKind.REVENUE: Direction.DOWN,
    MetricKind.GAUGE: Direction.BOTH,
}


def direction_of(kind: MetricKind) -> Direction:
    """The sensible default: latency and errors only up, conversion and revenue only down,
    throughput and any other gauge both ways."""
    return _DIRECTIONS[kind]


@dataclass(frozen=True, slots=True)
class ValueHour:
    """One hour of one series: the count, sum and sum of squares of its points."""

    hour: int  # hours since the Unix epoch, UTC
    points: int = 0
    total: float = 0.0
    squares: float = 0.0
    day_level: float | None = None  # once ended: the mean of the day to it (metrics.season)

    @property
    def mean(self) -> float:
        return self.total / self.points if self.points else 0.0


def _ids() -> array[int]:
    return array("q")


def _floats() -> array[float]:
    return array("d")


@dataclass(frozen=True, slots=True, eq=False)
class ValueSeason:
    """A series' past hours, oldest first, and the hour being filled.

    The ended hours are kept column by column in arrays, 40 bytes an hour: two weeks of
    10,000 series' hours are 130 MB as objects, 20 MB so. `hours` gives them as objects;
    `of` builds a season from them. Never mutated: a new hour makes new arrays.
    """

    ids: array[int] = field(default_factory=_ids)  # hours since the Unix epoch, UTC
    points: array[int] = field(default_factory=_ids)
    totals: array[float] = field(default_factory=_floats)
    squares: array[float] = field(default_factory=_floats)
    levels: array[float] = field(default_factory=_floats)  # each day_level; NaN: none
    current: ValueHour | None = None

    @classmethod
    def of(cls, hours: Sequence[ValueHour], current: ValueHour | None = None) -> ValueSeason:
        return cls(
            array("q", [h.hour for h in hours]),
            array("q", [h.points for h in hours]),
            array("d", [h.total for h in hours]),
            array("d", [h.squares for h in hours]),
            array("d", [math.nan if h.day_level is None else h.day_level for h in hours]),
            current,
        )

    def __eq__(self, other: object) -> bool:
        # By bytes for the levels: NaN (no level) is no level on both sides.
        if not isinstance(other, ValueSeason):
            return NotImplemented
        return (
            (self.ids, self.points, self.totals, self.squares, self.current)
            == (other.ids, other.points, other.totals, other.squares, other.current)
        ) and self.levels.tobytes() == other.levels.tobytes()

    __hash__ = None  # type: ignore[assignment]  # compared by value, never a key

    @property
    def hours(self) -> tuple[ValueHour, ...]:
        return tuple(
            ValueHour(hour, n, total, sq, None if math.isnan(level) else level)
            for hour, n, total, sq, level in zip(
                self.ids, self.points, self.totals, self.squares, self.levels, strict=True
            )
        )


@dataclass(frozen=True, slots=True)
class Leans:
    """A series' CUSUMs (metrics.leans): how far each kind of change has built up."""

    up: float = 0.0
    down: float = 0.0
    wide: float = 0.0

    def chance(self, config: MetricConfig) -> float:
        """The strongest lean as a chance: `cusum_limit` is as unlikely as `p_value`."""
        height = max(self.up, self.down, self.wide)
        return math.exp(-height * math.log(1 / config.p_value) / config.cusum_limit)

    def holding(self, sign: int) -> float:
        """How much a run that went `sign` (+1 up, -1 down) still leans."""
        return max(self.up if sign > 0 else self.down, self.wide)


@dataclass(frozen=True, slots=True)
class Run:
    """A run of points away from what was expected: since when, and where it sits now."""

    since: datetime
    level: float  # EWMA of its surprises (value - expected): how far a new normal would move
    spread: float = 0.0  # EWMA of their absolute deviation from that level
    points: int = 1
    sign: int = 1  # +1 above, -1 below what was expected


@dataclass(frozen=True, slots=True)
class Adoption:
    """The last new normal adopted: when, the run it ended (since when), and how far it moved
    the expectation (on the detector's scale), so that a return to the old level soon after
    is taken for the recovery it is, not for a new anomaly."""

    at: datetime
    since: datetime
    shift: float


@dataclass(frozen=True, slots=True)
class Fit:
    """One way of expecting a series' next value: a base (nothing, or a season's profile)
    plus a `level` learned over it, and the `spread` of the surprises around that."""

    level: float = 0.0
    spread: float = 0.0  # EWMA of the absolute surprise, scaled to a standard deviation
    points: int = 0  # points learned
    trend: float = 0.0  # per second; only the plain fit has one (Holt's), to follow a ramp


@dataclass(frozen=True, slots=True)
class MetricState:
    """What normal looks like for one series, learned point by point.

    Three fits are kept side by side — the level alone, the level over the
    same hour of the last days, over the same hour of the last weeks — and
    a point is judged by whichever has been the least surprised lately.
    `up`/`down` are two one-sided CUSUMs of the surprises, so a small
    shift that holds is found as surely as one large point.
    """

    series: str
    updated_at: datetime  # the last point judged
    # Values are judged as asinh(value / scale): like a logarithm for values well past the
    # scale, so a doubling is a doubling at 1 ms or 1e12, and linear through 0, so zeros and
    # negative values are judged too. Settled once `warmup` is full: a share of its values'
    # median size (or, for a series that sat at 0, of the first value that is not).
    scale: float
    plain: Fit
    daily: Fit = Fit()
    weekly: Fit = Fit()
    leans: Leans = Leans()
    run: Run | None = None
    adopted: Adoption | None = None
    # The first points, kept until there are enough to settle the scale on (then learned).
    warmup: tuple[tuple[datetime, float], ...] = ()
    settled: bool = False
    season: ValueSeason = field(default_factory=ValueSeason, compare=False)

    @property
    def points(self) -> int:
        return self.plain.points

    @property
    def new_normal_since(self) -> datetime | None:
        """Since when the level last adopted as the new normal holds."""
        return self.adopted.since if self.adopted is not None else None


@dataclass(frozen=True, slots=True)
class Judgement:
    """One point's verdict, with what it takes to chart and explain it."""

    series: str
    at: datetime
    value: float
    expected: float | None  # None while the series is still learning
    lower: float | None  # the band a value is normal in
    upper: float | None
    score: float  # 0..1: 1 - the chance of a surprise this large (or a run this long)
    anomalous: bool
    explanation: str = ""
    new_normal_since: datetime | None = None  # set on the point a new level was adopted
    refused: str | None = None  # why the value could not be judged (not a finite number)
