"""A cycle's metric half: every metric series judged point by point (aiops_engine.metrics).

Each cycle reads the metric window `[where the last ended, now - lateness)` for the OTLP
points ingest stored (`store.metric_points`), and takes the shop's business metrics of its
own span window (`store.business`, computed from the same spans the window's anomalies
come from). New normals users asked for are applied first; then `watch` judges every
series, one whose judging fails skipped and named. Its anomalies join the span anomalies
before root-cause analysis, so a conversion drop lands in the incident of the fault behind
it. What changed is written in the cycle's transaction (`save_metrics`), under the same
fence; states live in memory between cycles, loaded once when a replica starts leading
(`restore_metrics`).

OTLP points carry the time they were collected and are exported right after, so their
window stops `lateness_s` behind now, late enough for them to have arrived. The business
points need no such wait: the span window already stops behind the ingest lag, and judging
them with that window is what lets root-cause analysis group them with its anomalies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiops_engine.detection import Anomaly, KeyKind, SeriesKey
from aiops_engine.metrics import (
    Direction,
    MetricConfig,
    MetricPoint,
    MetricState,
    Watched,
    accept_new_normal,
    default_direction,
    watch,
)
from aiops_telemetry import Connection

from .store import business, metric_judgements, metric_points, metric_states


@dataclass(frozen=True, slots=True)
class MetricWatch:
    """How metric series are judged, and how far behind now their window ends."""

    config: MetricConfig = field(default_factory=MetricConfig)
    lateness_s: float = 15.0  # AIOPS_METRICS_LATENESS
    # After downtime, judge at most this much of the backlog (and as much at first start).
    max_catch_up_s: float = 600.0


@dataclass
class MetricMemory:
    """What one cycle hands the next of metric series: their states, whom each belongs to
    and which way it alerts (series -> (service, direction)), and the last window's end."""

    states: dict[str, MetricState] = field(default_factory=dict)
    owners: dict[str, tuple[str, str]] = field(default_factory=dict)
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class MetricOutcome:
    """One metric window judged, with the span window's business points: what `watch` said,
    and what the cycle must write."""

    start: datetime
    end: datetime
    watched: Watched
    owners: dict[str, tuple[str, str]]  # every series of the window's points
    accepts: dict[str, datetime]  # the requests read (all cleared once written)
    new_normals: dict[str, datetime]  # series -> since, adopted by a verdict or a request
    changed: dict[str, MetricState]  # the states that differ from the last cycle's

    @property
    def anomalies(self) -> list[Anomaly]:
        return self.watched.anomalies

    @property
    def skipped(self) -> dict[SeriesKey, str]:
        """Series not judged, as the cycle's skipped keys (logged and counted alike)."""
        return {
            SeriesKey(KeyKind.METRIC, self.owners[series][0], series): why
            for series, why in self.watched.skipped.items()
        }


def direction(series: str) -> Direction:
    """The business series' own direction; any other series' from its name."""
    return business.DIRECTIONS.get(series) or default_direction(series)


def metric_window(
    last_end: datetime | None, now: datetime, settings: MetricWatch
) -> tuple[datetime, datetime] | None:
    """The next metric window `[start, end)`, following on from the last; None when empty."""
    end = now - timedelta(seconds=settings.lateness_s)
    catch_up = timedelta(seconds=settings.max_catch_up_s)
    start = end - catch_up
    if last_end is not None and abs(end - last_end) <= catch_up:
        start = last_end
    return (start, end) if start < end else None


async def judge_metrics(
    conn: Connection,
    memory: MetricMemory,
    settings: MetricWatch,
    *,
    now: datetime,
    business_points: Sequence[MetricPoint] = (),
) -> MetricOutcome | None:
    """Judge the next metric window, and `business_points` (the span window's),
    against `memory` (left as it is: `advance` moves it); None when there is nothing."""
    bounds = metric_window(memory.end, now, settings)
    if bounds is None and not business_points:
        return None
    # No OTLP window yet (the clock has not moved on): an empty one where the last ended.
    last = memory.end or now
    start, end = bounds or (last, last)
    states = dict(memory.states)
    accepts = await metric_states.pending_accepts(conn)
    new_normals: dict[str, datetime] = {}
    for series, at in accepts.items():
        if series in states:
            adopted = accept_new_normal(states[series], at)
            if adopted != states[series] and adopted.new_normal_since is not None:
                states[series], new_normals[series] = adopted, adopted.new_normal_since
    read = await metric_points.points_between(conn, start, end) if bounds else []
    points = [MetricPoint(p.series, p.time, p.value, p.service) for p in read]
    points += business_points
    watched = watch(states, points, settings.config, direction)
    new_normals |= {j.series: j.new_normal_since for j in watched.judgements if j.new_normal_since}
    owners = {p.series: (p.service or "unknown_service", direction(p.series).value) for p in points}
    touched = owners.keys() | new_normals.keys()  # no other state can have changed
    changed = {
        s: watched.states[s]
        for s in touched
        if s in watched.states and memory.states.get(s) != watched.states[s]
    }
    return MetricOutcome(start, end, watched, owners, accepts, new_normals, changed)


async def save_metrics(conn: Connection, memory: MetricMemory, outcome: MetricOutcome) -> None:
    """Write what the window changed: states, their hours, judgements, the requests applied
    and the window's end (after the span window's progress, whose row holds it)."""
    owners = {**memory.owners, **outcome.owners}
    await metric_states.save_states(conn, outcome.changed, owners)
    await metric_states.save_hours(conn, outcome.changed, memory.states)
    await metric_judgements.save_judgements(conn, outcome.watched.judgements)
    await metric_states.clear_accepts(conn, outcome.accepts)
    await metric_states.save_cursor(conn, outcome.end)


def advance(memory: MetricMemory, outcome: MetricOutcome) -> None:
    """`memory` after the window, once it is written."""
    memory.states = outcome.watched.states
    memory.owners.update(outcome.owners)
    memory.end = outcome.end


async def restore_metrics(conn: Connection, config: MetricConfig) -> MetricMemory:
    """The metric states and hours as persisted, and where the last window ended."""
    return MetricMemory(
        states=await metric_states.load_states(conn, config),
        owners=await metric_states.load_owners(conn),
        end=await metric_states.load_cursor(conn),
    )
