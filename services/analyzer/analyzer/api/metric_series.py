"""Metric series: the watched ones with their last point, one series' judged points for a
chart, and a new normal asked for.

Series names hold `:`, `/`, `{`, `}` and `=` (`checkout:http.server.request.duration.p95
{http.route=/checkout}`): the name is the rest of the path up to the action, so a client
sends it percent-encoded as one segment (`encodeURIComponent`, `quote(name, safe="")`) or
as it is. Everything reads PostgreSQL, so every replica answers the same.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from aiops_api.analyzer import MetricPointJudged, MetricSeries, NewNormalRequested
from aiops_api.common import error
from aiops_telemetry import DatabaseDep
from analyzer import store
from analyzer.store.metric_judgements import SeriesOverview

from .errors import DATABASE_DOWN

router = APIRouter()

UNKNOWN = error(404, "no such metric series: list them at GET /metric-series")
DEFAULT_SPAN = timedelta(hours=1)


def _unknown(series: str) -> HTTPException:
    return HTTPException(
        404,
        f"no metric series {series!r} is watched: list them at GET /metric-series (a series "
        "appears with its first point)",
    )


def _utc(at: datetime | None) -> datetime | None:
    """A time without a zone is read as UTC, the analyzer's zone."""
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


@router.get("/metric-series", responses=DATABASE_DOWN)
async def list_series(db: DatabaseDep) -> list[MetricSeries]:
    """Every watched series, by name, with its last judged point."""
    async with db.connection() as conn:
        found = await store.metric_judgements.overview(conn)
    return [_listed(s) for s in found]


def _listed(found: SeriesOverview) -> MetricSeries:
    last = found.last
    if last is None:
        return MetricSeries(
            series=found.series, service=found.service, direction=found.direction, at=None,
            value=None, expected=None, lower=None, upper=None, score=None, anomalous=False,
            new_normal_since=None, explanation=None,
        )  # fmt: skip
    point = MetricPointJudged.of(last)
    return MetricSeries(
        series=found.series, service=found.service, direction=found.direction,
        **point.model_dump(),
    )  # fmt: skip


@router.get("/metric-series/{series:path}/points", responses=UNKNOWN | DATABASE_DOWN)
async def series_points(
    series: str,
    db: DatabaseDep,
    since: Annotated[datetime | None, Query(description="from (default: an hour ago)")] = None,
    until: Annotated[datetime | None, Query(description="before (default: now)")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="the newest this many")] = 1000,
) -> list[MetricPointJudged]:
    """The series' judged points in [since, until), oldest first (the newest `limit`): the
    value, expected value, band, score and verdict of each, for a chart."""
    now = datetime.now(UTC)
    end = _utc(until) or now + timedelta(seconds=1)
    start = _utc(since) or end - DEFAULT_SPAN
    async with db.connection() as conn:
        judged = await store.metric_judgements.points(
            conn, series, since=start, until=end, limit=limit
        )
        if not judged and not await store.metric_states.is_watched(conn, series):
            raise _unknown(series)
    return [MetricPointJudged.of(j) for j in judged]


@router.post(
    "/metric-series/{series:path}/new-normal",
    status_code=202,
    responses=UNKNOWN | DATABASE_DOWN,
)
async def accept_new_normal(series: str, db: DatabaseDep) -> NewNormalRequested:
    """Accept the series' current level as its new normal (an intended change: a price
    rise, a new release): the next cycle adopts it at once, without waiting for it to hold,
    and an incident only it keeps open resolves."""
    at = datetime.now(UTC)
    async with db.connection() as conn:
        if not await store.metric_states.request_accept(conn, series, at=at):
            raise _unknown(series)
    return NewNormalRequested(
        series=series,
        requested_at=at,
        detail="recorded: the next analysis cycle adopts the current level as the new normal",
    )
