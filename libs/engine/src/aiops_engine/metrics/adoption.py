"""A new normal: a run that held is adopted as the series' level, and undone if the series
soon returns to where it was (an outage that outlasted the wait, then recovered)."""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime

from .config import MetricConfig
from .model import Adoption, Fit, Leans, MetricState, Run

ABS_TO_SD = math.sqrt(math.pi / 2)  # mean absolute deviation x this = standard deviation


def adopted(state: MetricState, run: Run, at: datetime) -> MetricState:
    """`state` moved to where `run` sits, as of `at`: every fit's level (the season is a
    shape, which a new level leaves as it was), every noise at least the run's, the trend
    forgotten, and the run over."""
    moved = _moved(state, run.level, noise=run.spread * ABS_TO_SD)
    return dataclasses.replace(moved, adopted=Adoption(at, run.since, run.level))


def accept_new_normal(state: MetricState, at: datetime) -> MetricState:
    """`state` with its current run adopted at once, as a user who knows the change is
    intended asks: nothing to wait for. A state without a run is returned as it was."""
    if state.run is None:
        return state
    return adopted(state, state.run, at)


def recovered(
    state: MetricState, y: float, expected: float, width: float, at: datetime, config: MetricConfig
) -> MetricState | None:
    """`state` with its last adoption undone, when `y` (on the detector's scale) is back
    within the band of the level before it, within `recovery_window` of adopting it;
    else None."""
    last = state.adopted
    if last is None or at - last.at > config.recovery_window:
        return None
    if abs(y - (expected - last.shift)) > width:
        return None
    return dataclasses.replace(_moved(state, -last.shift, noise=0.0), adopted=None)


def _moved(state: MetricState, by: float, *, noise: float) -> MetricState:
    def moved(fit: Fit) -> Fit:
        return dataclasses.replace(fit, level=fit.level + by, spread=max(fit.spread, noise))

    return dataclasses.replace(
        state, plain=dataclasses.replace(moved(state.plain), trend=0.0),
        daily=moved(state.daily), weekly=moved(state.weekly), leans=Leans(), run=None,
    )  # fmt: skip
