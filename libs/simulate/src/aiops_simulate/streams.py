"""Labelled metric streams: one seeded series of one metric, with its anomalies labelled.

Span streams (`generate`) test detection on what a traced system emits; a
metric stream tests it on a single number over days or weeks — a latency,
a throughput, a conversion rate, a revenue of 1e11 — with the daily and
weekly cycles, trends and noise a real metric has, and faults of known
shape and place. `make_stream(family, seed, ...)` makes one
(aiops_simulate.streams_families); `make benchmark-detect` scores
detectors on a fixed corpus of them, `aiops simulate --metrics` writes one
set as CSV. Pure and seeded: the same arguments, the same stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, NamedTuple

DEFAULT_START = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday, midnight: weekends fall on days 5-6
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
HISTORY_S = 2 * DAY  # no fault starts before this: a detector has two days of history
LATE_S = 7 * DAY  # a "late" fault starts after a week, so weekly seasons are known by then

Direction = Literal["up", "down", "both"]
Noise = Literal["lognormal", "relative", "absolute", "poisson"]


class Kind(NamedTuple):
    """What a kind of metric is like: the deviations that are anomalies, and its noise."""

    direction: Direction
    non_negative: bool
    noise: Noise
    ceiling: float | None = None  # a hard top (a percentage)


# A slower call or more errors are bad news, fewer are not; conversion and revenue only
# matter when they fall; a throughput either way (a flood or a drought).
KINDS: dict[str, Kind] = {
    "latency": Kind("up", True, "lognormal"),
    "throughput": Kind("both", True, "relative"),
    "error_rate": Kind("up", True, "lognormal"),
    "conversion": Kind("down", True, "relative"),
    "cpu": Kind("up", True, "absolute", ceiling=100.0),
    "queue_depth": Kind("up", True, "poisson"),
    "revenue": Kind("down", True, "lognormal"),
    "count": Kind("both", True, "poisson"),  # a few events a point: orders, sign-ups
    "custom": Kind("both", False, "relative"),
}


@dataclass(frozen=True, slots=True)
class Label:
    """One labelled anomaly: a time window on the stream, [start, end], both included.

    `sign` is which way the series went: +1 up, -1 down, 0 neither (noisier,
    stuck). A level shift's window is its first two hours only: the new level
    after that is the new normal, not an anomaly.
    """

    start: datetime
    end: datetime
    kind: str
    sign: int = 0

    def truth(self, series: str) -> dict[str, str]:
        """The truth file's entry (`aiops simulate --metrics`): a fault is a window on a series."""
        return {
            "series": series,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "kind": self.kind,
        }


@dataclass(frozen=True, slots=True)
class Stream:
    """One metric's points, evenly spaced from `start`, `step_s` apart, and their labels."""

    name: str
    family: str
    kind: str
    direction: Direction
    step_s: int
    start: datetime
    values: tuple[float, ...]
    labels: tuple[Label, ...] = ()
    seed: int = 0
    params: dict[str, float] = field(default_factory=dict, compare=False)  # what was drawn

    def __len__(self) -> int:
        return len(self.values)

    def time(self, index: int) -> datetime:
        return self.start + timedelta(seconds=index * self.step_s)

    def offset(self, at: datetime) -> float:
        """Seconds from the stream's start to `at`."""
        return (at - self.start).total_seconds()

    @property
    def end(self) -> datetime:
        """The last point's time."""
        return self.time(len(self.values) - 1)

    @property
    def days(self) -> float:
        return len(self.values) * self.step_s / DAY

    def points(self) -> list[tuple[datetime, float]]:
        return [(self.time(i), v) for i, v in enumerate(self.values)]

    def truth(self) -> list[dict[str, str]]:
        return [label.truth(self.name) for label in self.labels]
