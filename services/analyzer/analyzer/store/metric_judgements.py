"""Every metric point judged (`analyzer_metric_judgements`): appended by the cycle, read by the
API, the dashboard and Grafana's chart, and deleted past `AIOPS_METRIC_JUDGEMENT_RETENTION`
by a retention task on every replica (the season's hours past `season_days` likewise)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from aiops_engine.metrics import Judgement
from aiops_telemetry import Connection, Database
from aiops_telemetry.retention import RetentionTask

from .metric_states import DELETE_OLD_HOURS, DELETE_SILENT_STATES

logger = logging.getLogger("analyzer.retention")

_COLUMNS = (
    'series, "time", value, expected, lower, upper, score, anomalous, new_normal_since, explanation'
)

_SAVE_SQL = f"""
INSERT INTO analyzer_metric_judgements ({_COLUMNS})
SELECT * FROM unnest(
    $1::text[], $2::timestamptz[], $3::float8[], $4::float8[], $5::float8[], $6::float8[],
    $7::float8[], $8::bool[], $9::timestamptz[], $10::text[]
)
"""  # noqa: S608 (composed of constants only)

# The newest `limit` of one series' judgements in [since, until), read newest first.
_POINTS_SQL = f"""
SELECT {_COLUMNS} FROM analyzer_metric_judgements
WHERE series = $1 AND "time" >= $2 AND "time" < $3
ORDER BY "time" DESC
LIMIT $4
"""  # noqa: S608 (composed of constants only)

# Each watched series with its newest judgement, if it has one (the (series, time) index).
_OVERVIEW_SQL = """
SELECT s.series, s.service, s.direction, j."time", j.value, j.expected, j.lower, j.upper,
       j.score, j.anomalous, j.new_normal_since, j.explanation
FROM analyzer_metric_states AS s
LEFT JOIN LATERAL (
    SELECT * FROM analyzer_metric_judgements AS j
    WHERE j.series = s.series ORDER BY j."time" DESC LIMIT 1
) AS j ON true
ORDER BY s.series
"""

DELETE_OLD_JUDGEMENTS = """
DELETE FROM analyzer_metric_judgements WHERE ctid IN (
    SELECT ctid FROM analyzer_metric_judgements WHERE "time" < $1
    ORDER BY "time" LIMIT $2 FOR UPDATE SKIP LOCKED
)
"""


@dataclass(frozen=True, slots=True)
class SeriesOverview:
    """One watched series and its last point (None: nothing judged yet, or forgotten)."""

    series: str
    service: str
    direction: str
    last: Judgement | None


async def save_judgements(conn: Connection, judgements: Sequence[Judgement]) -> None:
    """Append `judgements` (refused points are not judgements: they are counted, not kept)."""
    kept = [j for j in judgements if j.refused is None]
    if not kept:
        return
    await conn.execute(
        _SAVE_SQL,
        [j.series for j in kept],
        [j.at for j in kept],
        [j.value for j in kept],
        [j.expected for j in kept],
        [j.lower for j in kept],
        [j.upper for j in kept],
        [j.score for j in kept],
        [j.anomalous for j in kept],
        [j.new_normal_since for j in kept],
        [j.explanation for j in kept],
    )


async def points(
    conn: Connection, series: str, *, since: datetime, until: datetime, limit: int
) -> list[Judgement]:
    """`series`' judgements in [since, until), oldest first: the newest `limit` of them."""
    rows = await conn.fetch(_POINTS_SQL, series, since, until, limit)
    return [_judgement(row) for row in reversed(rows)]


async def overview(conn: Connection) -> list[SeriesOverview]:
    """Every watched series, by name, with its newest judgement."""
    return [
        SeriesOverview(
            series=row["series"],
            service=row["service"],
            direction=row["direction"],
            last=None if row["time"] is None else _judgement(row),
        )
        for row in await conn.fetch(_OVERVIEW_SQL)
    ]


def _judgement(row: asyncpg.Record) -> Judgement:
    return Judgement(
        series=row["series"],
        at=row["time"],
        value=row["value"],
        expected=row["expected"],
        lower=row["lower"],
        upper=row["upper"],
        score=row["score"],
        anomalous=row["anomalous"],
        explanation=row["explanation"],
        new_normal_since=row["new_normal_since"],
    )


def retention_tasks(
    db: Database, *, judgements: timedelta, season_days: int
) -> tuple[RetentionTask, RetentionTask]:
    """The tasks deleting judgements older than `judgements`, and hours (and the states of
    series silent as long) older than the season."""
    return (
        RetentionTask.deleting(
            db, DELETE_OLD_JUDGEMENTS, what="metric judgements", keep=judgements, logger=logger
        ),
        RetentionTask.deleting(
            db,
            DELETE_OLD_HOURS,
            DELETE_SILENT_STATES,
            what="metric season hours and silent series",
            keep=timedelta(days=season_days + 1),
            logger=logger,
        ),
    )
