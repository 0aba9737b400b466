"""What the analyzer learned of each metric series: its state (`analyzer_metric_states`), its
hours (`analyzer_metric_hours`), the new normals users asked for and how far metrics were
judged. States are written only when a cycle changed them, and hours only for those that
changed, so a cycle's writes follow what moved, not how many series there are."""

from __future__ import annotations

import bisect
import json
import logging
import math
from collections.abc import Mapping
from datetime import UTC, datetime

from aiops_engine.detection.season import HOUR_S
from aiops_engine.metrics import (
    MetricConfig,
    MetricState,
    ValueHour,
    ValueSeason,
    restored_season,
)
from aiops_engine.metrics.codec import state_from_json, state_to_json
from aiops_telemetry import Connection

logger = logging.getLogger("analyzer.metrics")

_SAVE_STATES_SQL = """
INSERT INTO analyzer_metric_states AS s (series, service, direction, state)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[])
ON CONFLICT (series) DO UPDATE SET
    service = EXCLUDED.service, direction = EXCLUDED.direction, state = EXCLUDED.state,
    saved_at = now()
"""

_SAVE_HOURS_SQL = """
INSERT INTO analyzer_metric_hours AS h (series, hour, points, total, squares)
SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::int[], $4::float8[], $5::float8[])
ON CONFLICT (series, hour) DO UPDATE SET
    points = EXCLUDED.points, total = EXCLUDED.total, squares = EXCLUDED.squares
"""

# Each series' hours within `season_days` of its own newest (as store.seasons reads them).
_LOAD_HOURS_SQL = """
SELECT series, hour, points, total, squares
FROM (
    SELECT *, max(hour) OVER (PARTITION BY series) AS newest FROM analyzer_metric_hours
) h
WHERE hour > newest - make_interval(days => $1)
ORDER BY series, hour
"""

# Retention (store.metric_judgements.retention_tasks): hours past the season, and the states
# of series not seen since then; one batch of at most $2 rows older than $1.
DELETE_OLD_HOURS = """
DELETE FROM analyzer_metric_hours WHERE (series, hour) IN (
    SELECT series, hour FROM analyzer_metric_hours WHERE hour < $1
    ORDER BY hour LIMIT $2 FOR UPDATE SKIP LOCKED
)
"""
DELETE_SILENT_STATES = """
DELETE FROM analyzer_metric_states WHERE series IN (
    SELECT series FROM analyzer_metric_states WHERE saved_at < $1
    LIMIT $2 FOR UPDATE SKIP LOCKED
)
"""

_REQUEST_ACCEPT_SQL = """
INSERT INTO analyzer_metric_accepts (series, requested_at)
SELECT series, $2 FROM analyzer_metric_states WHERE series = $1
ON CONFLICT (series) DO UPDATE SET requested_at = EXCLUDED.requested_at
RETURNING series
"""

# Only the requests read: one made since is applied by the next cycle.
_CLEAR_ACCEPTS_SQL = """
DELETE FROM analyzer_metric_accepts AS a
USING unnest($1::text[], $2::timestamptz[]) AS done (series, requested_at)
WHERE a.series = done.series AND a.requested_at = done.requested_at
"""


def _moment(hour: int) -> datetime:
    return datetime.fromtimestamp(hour * HOUR_S, UTC)


async def save_states(
    conn: Connection, states: Mapping[str, MetricState], owners: Mapping[str, tuple[str, str]]
) -> None:
    """Insert or overwrite `states` (series -> state; `owners`: series -> (service,
    direction)); series not given are left as they are."""
    if not states:
        return
    series = list(states)
    await conn.execute(
        _SAVE_STATES_SQL,
        series,
        [owners[s][0] for s in series],
        [owners[s][1] for s in series],
        [json.dumps(state_to_json(states[s])) for s in series],
    )


async def load_states(conn: Connection, config: MetricConfig) -> dict[str, MetricState]:
    """Every stored state with its season; a state that no longer reads (a document of
    another version) is left out and logged: that series learns afresh."""
    seasons = await load_seasons(conn, config)
    states = {}
    for row in await conn.fetch("SELECT series, state FROM analyzer_metric_states"):
        series = row["series"]
        try:
            states[series] = state_from_json(
                json.loads(row["state"]), seasons.get(series, ValueSeason())
            )
        except (ValueError, KeyError, TypeError) as exc:
            logger.warning("metric state of %s not read (%s); it learns afresh", series, exc)
    return states


async def load_owners(conn: Connection) -> dict[str, tuple[str, str]]:
    """Each stored series' (service, direction)."""
    rows = await conn.fetch("SELECT series, service, direction FROM analyzer_metric_states")
    return {row["series"]: (row["service"], row["direction"]) for row in rows}


async def is_watched(conn: Connection, series: str) -> bool:
    """Whether `series` has a stored state."""
    found = await conn.fetchval("SELECT 1 FROM analyzer_metric_states WHERE series = $1", series)
    return found is not None


async def save_hours(
    conn: Connection, after: Mapping[str, MetricState], before: Mapping[str, MetricState]
) -> None:
    """Write each series' hours that differ from `before`: the hour being filled, every
    cycle it changes; past hours only when they changed (a new normal may move them)."""
    rows = [(series, hour) for series, state in after.items() for hour in _changed(state, before)]
    if rows:
        await conn.execute(
            _SAVE_HOURS_SQL,
            [series for series, _ in rows],
            [_moment(h.hour) for _, h in rows],
            [h.points for _, h in rows],
            [h.total for _, h in rows],
            [h.squares for _, h in rows],
        )


def _changed(state: MetricState, before: Mapping[str, MetricState]) -> list[ValueHour]:
    season = state.season
    known = before.get(state.series)
    old = known.season if known is not None else ValueSeason()
    current = season.current
    filled = [current] if current is not None and current != old.current else []
    if season.ids is old.ids:  # the usual cycle: only the hour being filled can differ
        return filled
    return [*_past_changed(season, old), *filled]


def _past_changed(season: ValueSeason, old: ValueSeason) -> list[ValueHour]:
    """The past hours of `season` whose sums are not as `old` had them (an hour that just
    ended was written as the hour being filled). Once an hour, every series ends one: its
    hours are `old`'s (the oldest maybe forgotten) and one more, which the arrays say at
    once; only a season changed otherwise (a new normal) is compared hour by hour (building
    every hour as an object: 10,000 series took seconds)."""
    first = bisect.bisect_left(old.ids, season.ids[0]) if season.ids else len(old.ids)
    kept = len(old.ids) - first
    if all(
        memoryview(now)[:kept].tobytes() == memoryview(was)[first:].tobytes()
        for now, was in (
            (season.ids, old.ids),
            (season.points, old.points),
            (season.totals, old.totals),
            (season.squares, old.squares),
        )
    ):
        ended = [
            ValueHour(season.ids[i], season.points[i], season.totals[i], season.squares[i])
            for i in range(kept, len(season.ids))
        ]
        return [h for h in ended if h != old.current]
    seen = {_sums(h) for h in (*old.hours, old.current) if h is not None}
    return [h for h in season.hours if _sums(h) not in seen]


def _sums(hour: ValueHour) -> tuple[int, int, float, float]:
    return hour.hour, hour.points, hour.total, hour.squares


async def load_seasons(conn: Connection, config: MetricConfig) -> dict[str, ValueSeason]:
    """Every series' hours of its last `season_days`; the newest is the hour being filled."""
    hours: dict[str, list[ValueHour]] = {}
    for row in await conn.fetch(_LOAD_HOURS_SQL, config.season_days + 1):
        hours.setdefault(row["series"], []).append(
            ValueHour(
                hour=math.floor(row["hour"].timestamp() / HOUR_S),
                points=row["points"],
                total=row["total"],
                squares=row["squares"],
            )
        )
    return {series: restored_season(found[:-1], found[-1]) for series, found in hours.items()}


async def save_cursor(conn: Connection, end: datetime) -> None:
    """Record that metric points up to `end` were judged (after `windows.save_progress`, whose
    row it is kept in)."""
    await conn.execute("UPDATE analyzer_progress SET metrics_end = $1", end)


async def load_cursor(conn: Connection) -> datetime | None:
    """Where the last metric window ended, if one was judged."""
    end: datetime | None = await conn.fetchval("SELECT metrics_end FROM analyzer_progress")
    return end


async def request_accept(conn: Connection, series: str, *, at: datetime) -> bool:
    """Ask the next cycle to adopt `series`' current level; False for a series not watched."""
    return await conn.fetchval(_REQUEST_ACCEPT_SQL, series, at) is not None


async def pending_accepts(conn: Connection) -> dict[str, datetime]:
    """The new normals asked for and not applied yet: series -> when."""
    rows = await conn.fetch("SELECT series, requested_at FROM analyzer_metric_accepts")
    return {row["series"]: row["requested_at"] for row in rows}


async def clear_accepts(conn: Connection, applied: Mapping[str, datetime]) -> None:
    """Forget the requests `pending_accepts` read, once applied."""
    if applied:
        await conn.execute(_CLEAR_ACCEPTS_SQL, list(applied), list(applied.values()))
