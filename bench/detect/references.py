"""The reference detectors the engine is scored beside, each honouring the stream's direction.

- `zscore`: the textbook rule. Mean and standard deviation of the previous hour of points
  (at least ZSCORE_MIN_POINTS, so a 5-minute series is not judged on 12), anomalous when the
  point is more than 3 of them away in an allowed direction.
- `ewma3`: the seed prototype's rule (reference/seed-architecture.md), on raw values: an EWMA
  (alpha 0.1) of the points not flagged; a point is anomalous above 3x it (for a series that
  may only fall, below a third of it; both for either way).
- `stl`: an established library's method, statsmodels' STL, used causally: every STL_REFIT_S
  it decomposes the last week (at most) of 15-minute means into trend + daily season +
  residual, then judges the points until the next refit against the last trend level plus
  the season at their time of day, with a robust (MAD) sd of the points around that fit;
  anomalous beyond STL_K sds (refits every 12 h keep the whole run near a minute).

`zscore` and `stl` also hand back their deviations (`Verdicts.z`), so the run scores them at
other thresholds too and reports each at the one that does best on the tune split (run.py).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from statsmodels.tsa.seasonal import STL  # type: ignore[import-untyped]  # no stubs

from aiops_simulate import Stream

from .verdicts import Verdicts

ZSCORE_K = 3.0
ZSCORE_MIN_POINTS = 24
EWMA_ALPHA = 0.1
EWMA_FACTOR = 3.0
STL_BUCKET_S = 900  # the decomposition's resolution: 96 buckets a day
STL_HISTORY_S = 7 * 86400  # the trailing week it is fitted on
STL_REFIT_S = 12 * 3600
STL_K = 3.0
STL_MIN_DAYS = 2  # the first fit needs two whole daily cycles

Floats = NDArray[np.float64]


def _flags(direction: str, z: Floats, k: float) -> list[bool]:
    hit = z > k if direction == "up" else z < -k if direction == "down" else np.abs(z) > k
    return [bool(f) for f in hit]


def _z(x: Floats, mean: Floats, sd: Floats) -> Floats:
    """(x - mean) / sd, where sd 0 reads as 0 if x is the mean and as infinitely far if not."""
    diff = x - mean
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, diff / np.where(sd > 0, sd, 1.0), np.sign(diff) * np.inf)
    return np.nan_to_num(z, nan=0.0)


def _listed(a: Floats, known: NDArray[np.bool_]) -> list[float | None]:
    return [float(v) if ok else None for v, ok in zip(a, known, strict=True)]


def zscore(stream: Stream) -> Verdicts:
    """|z| > 3 against the previous hour's mean and sd (the points before, not the point)."""
    x = np.asarray(stream.values, dtype=np.float64)
    w = max(ZSCORE_MIN_POINTS, round(3600 / stream.step_s))
    mean, sd = np.zeros_like(x), np.zeros_like(x)
    known = np.zeros(len(x), dtype=bool)
    if len(x) > w:
        windows = np.lib.stride_tricks.sliding_window_view(x, w)[:-1]  # points i-w .. i-1
        mean[w:], sd[w:] = windows.mean(axis=1), windows.std(axis=1)
        known[w:] = True
    z = np.where(known, _z(x, mean, sd), 0.0)
    return Verdicts(
        _flags(stream.direction, z, ZSCORE_K),
        _listed(mean, known),
        _listed(mean - ZSCORE_K * sd, known),
        _listed(mean + ZSCORE_K * sd, known),
        [float(d) for d in z],
    )


def ewma3(stream: Stream) -> Verdicts:
    """The prototype's rule: above 3x the EWMA of unflagged values (below a third going down)."""
    up, down = stream.direction in ("up", "both"), stream.direction in ("down", "both")
    level: float | None = None
    flags: list[bool] = []
    expected: list[float | None] = []
    for v in stream.values:
        expected.append(level)
        flag = level is not None and (
            (up and v > EWMA_FACTOR * level) or (down and v < level / EWMA_FACTOR)
        )
        flags.append(flag)
        if level is None:
            level = v
        elif not flag:
            level = (1 - EWMA_ALPHA) * level + EWMA_ALPHA * v
    lower = [None if e is None or not down else e / EWMA_FACTOR for e in expected]
    upper = [None if e is None or not up else e * EWMA_FACTOR for e in expected]
    return Verdicts(flags, expected, lower, upper)


def stl(stream: Stream) -> Verdicts:
    """statsmodels' STL, refitted every 12 hours on the trailing week: residual z > 3."""
    x = np.asarray(stream.values, dtype=np.float64)
    n, step = len(x), stream.step_s
    per = max(1, STL_BUCKET_S // step)  # points per bucket
    period = 86400 // (per * step)  # buckets per day
    buckets = n // per
    means = x[: buckets * per].reshape(buckets, per).mean(axis=1)
    expected, sd = np.zeros_like(x), np.zeros_like(x)
    known = np.zeros(n, dtype=bool)
    refit = max(1, STL_REFIT_S // (per * step))  # in buckets
    history = STL_HISTORY_S // (per * step)
    for b0 in range(STL_MIN_DAYS * period, buckets, refit):
        fit = STL(means[max(0, b0 - history) : b0], period=period).fit()
        trend, season = np.asarray(fit.trend), np.asarray(fit.seasonal)
        first = b0 - len(trend)  # the bucket the fit starts at
        # The fit, back at point resolution, for the robust sd of the points around it.
        fitted = np.repeat(trend + season, per)
        resid = x[first * per : b0 * per] - fitted
        spread = 1.4826 * float(np.median(np.abs(resid - np.median(resid))))
        # Ahead: the last trend level, plus the season at the same time of day.
        ahead = np.arange(b0, min(b0 + refit, buckets + 1))
        forecast = trend[-1] + season[len(season) - period + (ahead - b0) % period]
        lo, hi = b0 * per, min(n, (b0 + len(ahead)) * per)
        expected[lo:hi] = np.repeat(forecast, per)[: hi - lo]
        sd[lo:hi] = spread
        known[lo:hi] = True
    z = np.where(known, _z(x, expected, sd), 0.0)
    return Verdicts(
        _flags(stream.direction, z, STL_K),
        _listed(expected, known),
        _listed(expected - STL_K * sd, known),
        _listed(expected + STL_K * sd, known),
        [float(d) for d in z],
    )
