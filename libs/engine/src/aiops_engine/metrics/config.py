"""The metric detector's knobs, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class MetricConfig:
    """Every threshold metric detection and learning use.

    A point is anomalous when the chance of a surprise as large as its own
    (or of a run of leaning points as long as the CUSUM's), under the
    series' own noise, is below `p_value`.
    """

    p_value: float = 1e-6
    # ... while no season is known yet (the first day): its daily shape may be all it is.
    learning_p_value: float = 1e-12
    # Points a series learns before it is judged at all.
    min_points: int = 30
    # How fast the level follows the series, as a time constant: before a season is known,
    # fast enough to follow a daily cycle; once one is, slower (the season has the shape).
    level_tau: timedelta = timedelta(hours=1)
    seasonal_tau: timedelta = timedelta(hours=3)
    # ... and its trend (Holt's), so a daily ramp is followed before the season is known.
    trend_tau: timedelta = timedelta(hours=3)
    # How fast the noise estimate follows the series.
    spread_tau: timedelta = timedelta(hours=6)
    # CUSUM: each point adds its surprise (in spreads) less this allowance ...
    cusum_allowance: float = 1.0
    # ... and this much accumulated is as unlikely as one point at `p_value`.
    cusum_limit: float = 10.0
    # A surprise counts at most this many spreads towards learning (winsorized).
    clamp_sigmas: float = 3.0
    # A floor on the noise, on the detector's scale (about a 1 % change well past the
    # series' scale), so a constant series (or one that sat at 0) is judged, not divided by.
    min_spread: float = 0.01
    # A level that holds this long without recovering is adopted as the new normal.
    new_normal_after: timedelta = timedelta(hours=2)
    # ... and a return to the level before it, this soon after, is a recovery, not an anomaly
    # (an outage that outlasted the wait; a first weekend, before the week's shape is known).
    recovery_window: timedelta = timedelta(days=3)
    # Days of hourly history a series keeps, and the days an hour needs before the season's
    # expectation is used (the latency season's numbers: detection.config).
    season_days: int = 15
    seasonal_min_days: int = 1
    # ... and the days after which an anomalous point is remembered for its hour too (a
    # one-off day is outvoted by then; a nightly habit still becomes usual).
    seasonal_trusted_days: int = 3

    def __post_init__(self) -> None:
        checks = {
            "p_value": 0 < self.p_value < 1,
            "learning_p_value": 0 < self.learning_p_value < 1,
            "min_points": self.min_points >= 2,
            "level_tau": self.level_tau.total_seconds() > 0,
            "seasonal_tau": self.seasonal_tau.total_seconds() > 0,
            "trend_tau": self.trend_tau.total_seconds() > 0,
            "spread_tau": self.spread_tau.total_seconds() > 0,
            "cusum_allowance": self.cusum_allowance >= 0,
            "cusum_limit": self.cusum_limit > 0,
            "clamp_sigmas": self.clamp_sigmas > 0,
            "min_spread": self.min_spread > 0,
            "new_normal_after": self.new_normal_after.total_seconds() > 0,
            "recovery_window": self.recovery_window.total_seconds() >= 0,
            "season_days": self.season_days >= 8,
            "seasonal_min_days": 1 <= self.seasonal_min_days <= 7,
            "seasonal_trusted_days": 1 <= self.seasonal_trusted_days <= 7,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid metric config: {', '.join(bad)}")
