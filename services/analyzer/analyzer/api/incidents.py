"""Incidents: live ones in Redis, their history of changes in PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Protocol

from fastapi import APIRouter, HTTPException, Path, Query
from redis.exceptions import RedisError

from aiops_api.analyzer import HistoryEntry, IncidentDetail
from aiops_api.common import error
from aiops_engine.incidents import Incident, Status, TransitionError
from aiops_telemetry import DatabaseDep
from analyzer import store

from .dependencies import DeskDep

router = APIRouter()

INCIDENT_ID = r"^INC-[A-Za-z0-9-]{1,64}$"
REDIS_DOWN = error(503, "Redis is unreachable: incidents cannot be read or changed right now")
NOT_FOUND = error(404, "no such incident")
# One 503 per route: /incidents/{id} reads the incident from Redis and its history from PostgreSQL.
STORE_DOWN = error(
    503,
    "Redis or PostgreSQL is unreachable (or no connection was free in time): "
    "the incident cannot be read right now",
)

IncidentId = Annotated[str, Path(pattern=INCIDENT_ID)]


class Transition(Protocol):
    """`IncidentDesk.acknowledge` or `.resolve`."""

    async def __call__(self, incident_id: str, *, now: datetime) -> Incident | None: ...


def _redis_unavailable(exc: RedisError) -> HTTPException:
    return HTTPException(
        503,
        f"Redis is unreachable ({exc}); incidents cannot be read or changed right now. "
        "The analyzer keeps detecting and writes incidents once Redis is back; "
        "check `docker compose ps redis`.",
    )


@router.get("/incidents", responses=REDIS_DOWN)
async def list_incidents(
    desk: DeskDep,
    status: Annotated[Status | None, Query(description="open, acknowledged or resolved")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[Incident]:
    """Incidents in Redis, newest first; resolved ones stay for `incident_ttl`."""
    try:
        return await desk.store.list(status, limit=limit)
    except RedisError as exc:
        raise _redis_unavailable(exc) from exc


@router.get("/incidents/{incident_id}", responses=NOT_FOUND | STORE_DOWN)
async def get_incident(incident_id: IncidentId, desk: DeskDep, db: DatabaseDep) -> IncidentDetail:
    """One incident, with its history of changes from PostgreSQL."""
    try:
        incident = await desk.store.get(incident_id)
    except RedisError as exc:
        raise _redis_unavailable(exc) from exc
    async with db.connection() as conn:
        rows = await store.incident_history.of_incident(conn, incident_id)
    history = [HistoryEntry.model_validate(row) for row in rows]
    if incident is None and not history:
        raise HTTPException(404, f"no incident {incident_id}; list them at GET /incidents")
    # Expired from Redis: the history still has it as it was last.
    return IncidentDetail(incident=incident, expired=incident is None, history=history)


TRANSITION_ERRORS = (
    NOT_FOUND | error(409, "the incident's status does not allow the change") | REDIS_DOWN
)


@router.post("/incidents/{incident_id}/acknowledge", responses=TRANSITION_ERRORS)
async def acknowledge_incident(incident_id: IncidentId, desk: DeskDep) -> Incident:
    """open → acknowledged: someone is on it. Acknowledging twice changes nothing."""
    return await _transition(desk.acknowledge, incident_id)


@router.post("/incidents/{incident_id}/resolve", responses=TRANSITION_ERRORS)
async def resolve_incident(incident_id: IncidentId, desk: DeskDep) -> Incident:
    """open or acknowledged → resolved. It reopens if its cause returns shortly after."""
    return await _transition(desk.resolve, incident_id)


async def _transition(change: Transition, incident_id: str) -> Incident:
    try:
        incident = await change(incident_id, now=datetime.now(UTC))
    except RedisError as exc:
        raise _redis_unavailable(exc) from exc
    except TransitionError as exc:
        raise HTTPException(409, str(exc)) from exc
    if incident is None:
        raise HTTPException(404, f"no incident {incident_id} in Redis (expired or never existed)")
    return incident
