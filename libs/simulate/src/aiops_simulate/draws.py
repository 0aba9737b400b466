"""Cheap random draws for the span generator: a standard normal is one `random()` into a table
of quantiles, a Poisson count a few; both from the run's own generator, so a seed replays."""

from __future__ import annotations

import math
from collections.abc import Callable
from statistics import NormalDist

TABLE = 4096  # standard normal quantiles drawn from: one random() per draw instead of gauss()
NORMALS = tuple(NormalDist().inv_cdf((i + 0.5) / TABLE) for i in range(TABLE))


def poisson(mean: float, random: Callable[[], float]) -> int:
    """A Poisson draw: Knuth's product of uniforms when small, else the normal approximation."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(mean + math.sqrt(mean) * NORMALS[int(random() * TABLE)]))
    limit, count, product = math.exp(-mean), 0, random()
    while product > limit:
        count += 1
        product *= random()
    return count
