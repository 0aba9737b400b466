"""A metric stream while it is drawn: its expected shape, the faults laid on it, then noise.

Every family (streams_families) draws the same way: a level times a daily
(and weekly) season and a trend is what the series is expected to be; a
fault multiplies, replaces or adds to it over a span of points and labels
that span; the kind's noise is drawn last, so a fault is made of the same
noise as the normal around it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .streams import DAY, HISTORY_S, HOUR, KINDS, LATE_S, Direction, Label, Stream

# Noise by kind, as drawn ranges: log-normal sigma, relative sd, absolute sd.
SIGMA = {"latency": (0.06, 0.14), "error_rate": (0.2, 0.35), "revenue": (0.03, 0.07)}
RELATIVE = {"throughput": (0.03, 0.07), "conversion": (0.04, 0.08), "custom": (0.03, 0.08)}
ABSOLUTE_SD = (1.5, 3.0)  # cpu, in percentage points


@dataclass
class Draft:
    """A stream being drawn: `mean[i]` the expected value, `noise[i]` x the kind's noise there,
    `fixed[i]` a value set outright (a flat-line), `bumps[i]` sds added after the noise (spikes).
    """

    family: str
    seed: int
    kind: str
    direction: Direction
    step_s: int
    start: datetime
    n: int
    rng: random.Random
    mean: list[float] = field(default_factory=list)
    noise: list[float] = field(default_factory=list)
    fixed: dict[int, float] = field(default_factory=dict)
    bumps: dict[int, float] = field(default_factory=dict)
    labels: list[Label] = field(default_factory=list)
    params: dict[str, float] = field(default_factory=dict)

    @classmethod
    def new(
        cls,
        family: str,
        seed: int,
        kind: str,
        direction: Direction | None,
        step_s: int,
        days: float,
        start: datetime,
    ) -> Draft:
        if kind not in KINDS:
            raise ValueError(f"unknown metric kind {kind!r}; one of {', '.join(KINDS)}")
        if step_s <= 0 or days * DAY < HISTORY_S + 12 * HOUR:
            raise ValueError("a stream needs a positive step and more than 2.5 days")
        n = int(days * DAY // step_s)
        rng = random.Random(f"{family}/{seed}")  # a str seed is hashed the same in every run
        return cls(family, seed, kind, direction or KINDS[kind].direction, step_s, start, n, rng,
                   [1.0] * n, [1.0] * n)  # fmt: skip

    # -- the expected shape -----------------------------------------------------------------

    def at(self, i: int) -> float:
        """Seconds from the start to point i."""
        return i * self.step_s

    def index(self, seconds: float) -> int:
        """The first point at or after `seconds` from the start."""
        return min(self.n, max(0, math.ceil(seconds / self.step_s)))

    def season(self, level: float, ratio: float, weekend: float = 1.0) -> None:
        """`level` x a daily cycle whose peak is `ratio` x its trough (1: none), at a drawn hour,
        and x `weekend` on Saturdays and Sundays (the start is a Monday)."""
        depth = (ratio - 1) / (ratio + 1)
        peak_h = self.rng.uniform(11, 20)
        self.params.update(level=level, daily_ratio=ratio, weekend=weekend)
        for i in range(self.n):
            t = self.at(i) + (self.start.hour * HOUR)
            hour = (t % DAY) / HOUR
            day = int(t // DAY) % 7
            daily = 1 + depth * math.cos(2 * math.pi * (hour - peak_h) / 24)
            self.mean[i] = level * daily * (weekend if day >= 5 else 1.0)

    def trend(self, growth: float) -> None:
        """Linear growth to (1 + growth) x by the end."""
        self.params["trend"] = growth
        for i in range(self.n):
            self.mean[i] *= 1 + growth * i / self.n

    # -- where faults go --------------------------------------------------------------------

    def onsets(
        self, count: int, longest_s: float, late: bool = False, gap_s: float = HOUR
    ) -> list[int]:
        """`count` fault onsets, one in each of `count` equal slots of the time after the first two
        days (after the first week if `late`), each leaving room for `longest_s` and a gap."""
        first = (LATE_S + 12 * HOUR) if late else (HISTORY_S + 2 * HOUR)
        last = self.n * self.step_s - longest_s - 3 * HOUR  # a tail of normal after the last
        if last - first < count * (longest_s + gap_s) * 0.5:
            raise ValueError(f"a {self.n * self.step_s / DAY:.1f}-day stream has no room for "
                             f"{count} faults{' after a week' if late else ''}")  # fmt: skip
        slot = (last - first) / count
        found = []
        for k in range(count):
            lo = first + k * slot
            hi = max(lo, lo + slot - longest_s - gap_s)
            found.append(self.index(self.rng.uniform(lo, hi)))
        return found

    def label(self, i0: int, i1: int, kind: str, sign: int) -> None:
        """Points i0..i1 (included) as one labelled window."""
        self.labels.append(Label(self.time(i0), self.time(i1), kind, sign))

    def time(self, i: int) -> datetime:
        return self.start + timedelta(seconds=self.at(i))

    def scale(self, i0: int, i1: int, factor: float) -> None:
        for i in range(i0, min(i1, self.n)):
            self.mean[i] *= factor

    def sign(self, up_ok: bool = True, down_ok: bool = True) -> int:
        """+1 or -1, as the stream's direction (and the caller) allow: a fault is always one
        its series' direction calls an anomaly."""
        allowed = [s for s, ok in ((1, up_ok), (-1, down_ok)) if ok]
        allowed = [s for s in allowed if self.direction == "both" or
                   (s > 0) == (self.direction == "up")]  # fmt: skip
        if not allowed:
            raise ValueError(f"a {self.direction!r} stream cannot hold this fault")
        return self.rng.choice(allowed)

    # -- the noise, then the stream ---------------------------------------------------------

    def sd(self, i: int) -> float:
        """The noise's standard deviation at point i, in the series' units."""
        kind, m = KINDS[self.kind], self.mean[i]
        spread = self.params["noise"] * self.noise[i]
        if kind.noise == "lognormal" or kind.noise == "relative":
            return abs(m) * spread
        if kind.noise == "poisson":
            return math.sqrt(max(m, 0.0))
        return spread

    def draw_noise(self) -> None:
        """The kind's noise level, drawn once (unless a family set it)."""
        noise = KINDS[self.kind].noise
        if "noise" in self.params:
            return
        if noise == "lognormal":
            lo, hi = SIGMA.get(self.kind, (0.05, 0.12))
        elif noise == "relative":
            lo, hi = RELATIVE.get(self.kind, (0.03, 0.07))
        else:
            lo, hi = ABSOLUTE_SD
        self.params["noise"] = self.rng.uniform(lo, hi)

    def finish(self, name: str | None = None) -> Stream:
        self.draw_noise()
        kind, rng = KINDS[self.kind], self.rng
        values = []
        for i in range(self.n):
            m = self.mean[i]
            if i in self.fixed:
                values.append(self.fixed[i])
                continue
            if kind.noise == "lognormal":
                s = self.params["noise"] * self.noise[i]
                v = m * math.exp(rng.gauss(0, s) - s * s / 2)
            elif kind.noise == "poisson":
                v = float(poisson(rng, m))
            else:
                v = m + rng.gauss(0, self.sd(i))
            v += self.bumps.get(i, 0.0) * self.sd(i)
            if kind.non_negative:
                v = max(v, 0.0)
            if kind.ceiling is not None:
                v = min(v, kind.ceiling)
            values.append(v)
        return Stream(
            name=name or f"{self.family}-{self.seed}",
            family=self.family,
            kind=self.kind,
            direction=self.direction,
            step_s=self.step_s,
            start=self.start,
            values=tuple(values),
            labels=tuple(sorted(self.labels, key=lambda label: label.start)),
            seed=self.seed,
            params=dict(self.params),
        )


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw: Knuth's product for small means, a rounded normal for large ones."""
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k
