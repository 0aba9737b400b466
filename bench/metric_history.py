"""Section N's synthetic metric series: what each holds in memory and in PostgreSQL before
a cycle is timed, and the points each cycle reads.

Every series is a gauge with a daily cycle (+-30 %) and 3 % noise, exported once a minute
(the OpenTelemetry SDK's default interval). Judging days of such points for thousands of
series would take hours, so the history is judged once, by the engine's own `judge`, for
one prototype series; each series gets a deep copy of the prototype's state (its season's
hours included, so no two series share memory) under its own name and scale. Values are
judged as asinh(value / scale), so a series that is the prototype times `factor` with its
scale times `factor` is judged exactly as the prototype: series differ in size, not in
what the detector sees. A state is persisted with the analyzer's own writers
(`store.metric_states`), so the tables hold what a cycle would have written.
"""

from __future__ import annotations

import copy
import dataclasses
import gc
import json
import math
import random
import timeit
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiops_engine.metrics import MetricConfig, MetricState, judge
from aiops_telemetry import Connection
from aiops_telemetry.metric_rows import GAUGE, METRIC_COLUMNS, MetricRow, metric_row, series_name
from analyzer.metric_cycle import direction, restore_metrics
from analyzer.store import metric_states

EXPORT = timedelta(minutes=1)  # the history's spacing between points
PER_SERVICE = 10  # series a service (one gauge, ten shards)
METRIC = "queue.depth"  # "queue": a series that goes wrong upwards (default_direction)
SWING, NOISE = 0.3, 0.03
_SAVE_STATES = 2_000  # series a save_states call (one statement each)
_SAVE_HOURS = 500  # series a save_hours call: ~170,000 rows at 14 days
WINDOW = timedelta(seconds=5)


@dataclass(frozen=True, slots=True)
class Series:
    """One synthetic series: its name, its service, the shard attribute and its size."""

    name: str
    service: str
    shard: str
    factor: float  # the prototype's values times this


def fleet(n: int) -> list[Series]:
    """`n` series, PER_SERVICE a service, sized 1x to 100x the prototype."""
    found = []
    for i in range(n):
        service, shard = f"svc-{i // PER_SERVICE:05d}", str(i % PER_SERVICE)
        name = series_name(service, METRIC, {"shard": shard})
        found.append(Series(name, service, shard, float(1 + i % 100)))
    return found


def value(at: datetime, rng: random.Random, factor: float = 1.0) -> float:
    """The gauge at `at`: 100 with a daily swing, times a little noise, times `factor`."""
    day = at.timestamp() / 86_400
    return factor * 100 * (1 + SWING * math.sin(2 * math.pi * day)) * rng.lognormvariate(0, NOISE)


def prototype(days: int, end: datetime, config: MetricConfig) -> MetricState:
    """The state of a series judged a point a minute over the `days` before `end`."""
    rng, state = random.Random(days), None
    points = int(timedelta(days=days) / EXPORT)
    for k in range(points):
        at = end - (points - k) * EXPORT
        state, _ = judge(state, "prototype", at, value(at, rng), config)
    if state is None or not state.settled:
        raise RuntimeError(f"the prototype learned nothing in {days} days")
    return state


def judge_us(days: int, end: datetime, config: MetricConfig) -> float:
    """The engine's `judge` of one point after `days` of history: microseconds, the best of
    five runs of 2,000 (no database, no other series)."""
    proto = prototype(days, end, config)
    at = end + WINDOW
    point = value(at, random.Random(days))
    runs = timeit.repeat(lambda: judge(proto, proto.series, at, point, config), number=2_000)
    return min(runs) / 2_000 * 1e6


def states(proto: MetricState, series: Sequence[Series]) -> dict[str, MetricState]:
    """Each series' own copy of `proto` (no object shared), under its name and scale."""
    return {
        s.name: dataclasses.replace(
            copy.deepcopy(proto), series=s.name, scale=proto.scale * s.factor
        )
        for s in series
    }


def owners(series: Sequence[Series], direction: str) -> dict[str, tuple[str, str]]:
    return {s.name: (s.service, direction) for s in series}


async def persist(
    conn: Connection,
    held: dict[str, MetricState],
    owned: dict[str, tuple[str, str]],
) -> None:
    """`held` written as the analyzer writes states and hours (every hour: none was before)."""
    names = list(held)
    for i in range(0, len(names), _SAVE_STATES):
        chunk = {name: held[name] for name in names[i : i + _SAVE_STATES]}
        await metric_states.save_states(conn, chunk, owned)
    for i in range(0, len(names), _SAVE_HOURS):
        chunk = {name: held[name] for name in names[i : i + _SAVE_HOURS]}
        await metric_states.save_hours(conn, chunk, {})


async def load(
    conn: Connection, proto: MetricState, n: int, start: datetime, windows: int
) -> tuple[dict[str, MetricState], dict[str, tuple[str, str]], int]:
    """`n` series' states copied from `proto` (and the bytes tracemalloc saw them take),
    written as the analyzer writes them, and one point a series in each of `windows` 5 s
    windows from `start` in `metric_points`; the states and their owners."""
    series = fleet(n)
    gc.collect()
    tracemalloc.start()
    held = states(proto, series)
    taken = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    owned = owners(series, direction(series[0].name).value)
    await persist(conn, held, owned)
    rng = random.Random(n)
    for w in range(windows):
        rows = window_rows(series, start + w * WINDOW, WINDOW.total_seconds(), rng)
        await conn.copy_records_to_table("metric_points", records=rows, columns=METRIC_COLUMNS)
    await conn.execute(
        "VACUUM ANALYZE metric_points, analyzer_metric_states, analyzer_metric_hours"
    )
    return held, owned, taken


def window_rows(
    series: Sequence[Series], start: datetime, seconds: float, rng: random.Random
) -> list[MetricRow]:
    """One gauge point a series in `[start, start + seconds)`, as OTLP ingest stores it."""
    step = seconds / len(series)
    rows = []
    for i, s in enumerate(series):
        at = start + timedelta(seconds=i * step)
        rows.append(
            metric_row(
                time=at,
                series=s.name,
                service=s.service,
                name=METRIC,
                kind=GAUGE,
                value=value(at, rng, s.factor),
                attributes=json.dumps({"shard": s.shard}),
            )
        )
    return rows


async def restored_alike(
    conn: Connection, held: dict[str, MetricState], series: Sequence[Series], sample: int
) -> int:
    """Restore every state as a new leader does (`restore_metrics`); of `sample` of `series`,
    how many judge their next point with the restored state exactly as with the one held."""
    restored, config = (await restore_metrics(conn, MetricConfig())).states, MetricConfig()
    alike, rng = 0, random.Random(0)
    for s in series[:: max(1, len(series) // sample)][:sample]:
        mine, theirs = held[s.name], restored.get(s.name)
        at = mine.updated_at + timedelta(seconds=5)
        point = value(at, rng, s.factor)
        ours = judge(mine, s.name, at, point, config)
        alike += theirs is not None and judge(theirs, s.name, at, point, config) == ours
    return alike
