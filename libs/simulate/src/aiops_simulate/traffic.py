"""How busy the system is, second by second: 1.0 is a topology's average load.

- steady: 1.0 throughout.
- diurnal: a daily cosine by the hour of the simulated day, 0.5 at 03:00 and
  1.5 at 15:00 (peak three times the trough), averaging 1.0 over a day.
- bursty: diurnal, times bursts (x2-4 for 30-120 s, about every 10 minutes)
  and idle stretches (x0.25-0.6 for 30-180 s, about every 15 minutes), and
  x0.87 in between, so that it too averages 1.0 in the long run.

The schedule of bursts depends on the seed alone, and is drawn in time order,
so a longer scenario with the same seed sees the same bursts in the part the
shorter one covers: plan_case can look ahead at the load its fault will meet.
"""

from __future__ import annotations

import hashlib
import math
import random
from datetime import datetime

SHAPES = ("steady", "diurnal", "bursty")
PEAK_HOUR = 15.0
SWING = 0.5  # (1 + SWING) / (1 - SWING) = 3: the peak is three times the trough
_Shape = tuple[float, tuple[float, float], tuple[float, float]]
BURSTS: _Shape = (600.0, (2.0, 4.0), (30.0, 120.0))  # mean gap s, factor range, length range
IDLES: _Shape = (900.0, (0.25, 0.6), (30.0, 180.0))


def _mean_factor(shape: _Shape) -> float:
    """The long-run mean of one kind of event's factor: events fill length/(gap+length)."""
    gap, (low, high), (shortest, longest) = shape
    length = (shortest + longest) / 2
    return 1 + length / (gap + length) * ((low + high) / 2 - 1)


# Bursty traffic is scaled down between events so that it too averages 1.0 in the long run.
BURSTY_BASE = 1 / (_mean_factor(BURSTS) * _mean_factor(IDLES))


def stable_seed(*parts: object) -> int:
    """An integer seed from `parts`, the same in every process (unlike hash())."""
    text = "\x1f".join(repr(part) for part in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class Traffic:
    """The load level of one scenario, second by second from its start."""

    def __init__(self, shape: str, start: datetime, seed: int) -> None:
        if shape not in SHAPES:
            raise ValueError(f"unknown traffic {shape!r}: one of {', '.join(SHAPES)}")
        self.shape = shape
        self._hour0 = start.hour + start.minute / 60 + start.second / 3600
        self._levels: list[float] = []
        # (start s, end s, factor), each kind in time order; drawn as far as asked for.
        self._kinds: list[tuple[random.Random, _Shape, list[tuple[float, float, float]]]] = [
            (random.Random(stable_seed(seed, "traffic", name)), spec, [])
            for name, spec in (("bursts", BURSTS), ("idles", IDLES))
        ] if shape == "bursty" else []  # fmt: skip

    def level(self, second: int) -> float:
        """The load in [second, second + 1) after the start."""
        levels = self._levels
        while len(levels) <= second:
            levels.extend(self._compute(len(levels), len(levels) + 3600))
        return levels[second]

    def mean(self, first_s: float, last_s: float) -> float:
        """The average load over [first_s, last_s)."""
        seconds = range(int(first_s), max(int(first_s) + 1, math.ceil(last_s)))
        return sum(self.level(s) for s in seconds) / len(seconds)

    def _compute(self, first: int, last: int) -> list[float]:
        if self.shape == "steady":
            return [1.0] * (last - first)
        base = BURSTY_BASE if self.shape == "bursty" else 1.0
        levels = [base * self._diurnal(s) for s in range(first, last)]
        for rng, (gap, (low, high), (shortest, longest)), events in self._kinds:
            while not events or events[-1][0] < last:
                begin = (events[-1][1] if events else 0.0) + rng.expovariate(1 / gap)
                length = rng.uniform(shortest, longest)
                events.append((begin, begin + length, rng.uniform(low, high)))
            for begin, end, factor in events:
                for s in range(max(first, math.ceil(begin)), min(last, math.ceil(end))):
                    levels[s - first] *= factor
        return levels

    def _diurnal(self, second: int) -> float:
        hour = self._hour0 + second / 3600
        return 1.0 + SWING * math.cos(2 * math.pi * (hour - PEAK_HOUR) / 24)
