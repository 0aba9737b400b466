"""Incidents (Redis), the learned dependency graph, and reconstructed traces (PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from redis.exceptions import RedisError

from aiops_engine.detection import span_thresholds, typical_latencies
from aiops_engine.incidents import Incident, Status, TransitionError
from aiops_engine.rca import TraceNode, build_trees, find_origins
from analyzer import store

from .dependencies import DeskDep, PoolDep, SettingsDep

router = APIRouter()

INCIDENT_ID = r"^INC-[A-Za-z0-9-]{1,64}$"
TRACE_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"  # what the services accept in X-Trace-Id


def _redis_unavailable(exc: RedisError) -> HTTPException:
    return HTTPException(
        503,
        f"Redis is unreachable ({exc}); incidents cannot be read or changed right now. "
        "The analyzer keeps detecting and writes incidents once Redis is back; "
        "check `docker compose ps redis`.",
    )


@router.get("/incidents")
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


IncidentId = Annotated[str, Path(pattern=INCIDENT_ID)]


@router.get("/incidents/{incident_id}")
async def get_incident(incident_id: IncidentId, desk: DeskDep, pool: PoolDep) -> dict[str, Any]:
    """One incident, with its history of changes from PostgreSQL."""
    try:
        incident = await desk.store.get(incident_id)
    except RedisError as exc:
        raise _redis_unavailable(exc) from exc
    async with pool.acquire() as conn:
        changes = await store.incident_history.of_incident(conn, incident_id)
    if incident is None:
        if not changes:
            raise HTTPException(404, f"no incident {incident_id}; list them at GET /incidents")
        # Expired from Redis: the history still has it as it was last.
        return {"incident": None, "expired": True, "history": changes}
    return {"incident": incident, "expired": False, "history": changes}


@router.post("/incidents/{incident_id}/acknowledge")
async def acknowledge_incident(incident_id: IncidentId, desk: DeskDep) -> Incident:
    """open → acknowledged: someone is on it. Acknowledging twice changes nothing."""
    return await _transition(desk.acknowledge, incident_id)


@router.post("/incidents/{incident_id}/resolve")
async def resolve_incident(incident_id: IncidentId, desk: DeskDep) -> Incident:
    """open or acknowledged → resolved. It reopens if its cause returns shortly after."""
    return await _transition(desk.resolve, incident_id)


async def _transition(change: Any, incident_id: str) -> Incident:
    try:
        incident: Incident | None = await change(incident_id, now=datetime.now(UTC))
    except RedisError as exc:
        raise _redis_unavailable(exc) from exc
    except TransitionError as exc:
        raise HTTPException(409, str(exc)) from exc
    if incident is None:
        raise HTTPException(404, f"no incident {incident_id} in Redis (expired or never existed)")
    return incident


@router.get("/dependencies")
async def dependencies(pool: PoolDep) -> dict[str, Any]:
    """The service graph learned from client spans and the server spans they caused."""
    async with pool.acquire() as conn:
        graph = await store.traces.load_dependencies(conn)
    return {
        "services": sorted(graph.services),
        "edges": [
            {
                "caller": d.caller,
                "callee": d.callee,
                "calls": d.calls,
                "errors": d.errors,
                "error_rate": d.errors / d.calls if d.calls else 0.0,
                "first_seen": d.first_seen,
                "last_seen": d.last_seen,
            }
            for _, d in sorted(graph.edges.items())
        ],
    }


@router.get("/traces/{trace_id}")
async def trace(
    trace_id: Annotated[str, Path(pattern=TRACE_ID)], pool: PoolDep, settings: SettingsDep
) -> dict[str, Any]:
    """A trace as a tree with timings and statuses, and where its trouble starts, if anywhere."""
    async with pool.acquire() as conn:
        spans = (await store.traces.trace_spans(conn, [trace_id])).get(trace_id, [])
        baselines = await store.baselines.load_baselines(conn)
    if not spans:
        raise HTTPException(
            404, f"no spans recorded for trace {trace_id} (yet: rows land within a second or so)"
        )
    roots = build_trees(spans)
    config = settings.detection()
    origins = find_origins(
        roots, span_thresholds(baselines, config), typical_latencies(baselines, config)
    )
    blamed = {o.span.span_id: o for o in origins}
    return {
        "trace_id": trace_id,
        "spans": len(spans),
        "services": sorted({s.service for s in spans}),
        "duration_ms": max(r.span.latency_ms for r in roots),
        "origins": [
            {
                "service": o.suspect.service,
                "endpoint": o.suspect.endpoint,
                "blame": o.blame.value,
                "span_id": o.span.span_id,
            }
            for o in origins
        ],
        "roots": [_node_json(r, blamed) for r in roots],
    }


def _node_json(node: TraceNode, blamed: dict[str, Any]) -> dict[str, Any]:
    span = node.span
    origin = blamed.get(span.span_id)
    return {
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "service": span.service,
        "kind": span.kind,
        "method": span.method,
        "endpoint": span.endpoint,
        "peer_service": span.peer_service,
        "status_code": span.status_code,
        "latency_ms": span.latency_ms,
        "start": span.start,
        "failed": span.failed,
        "error_kind": span.error_kind,
        "error": span.error_message.splitlines()[-1] if span.error_message else None,
        "origin": origin.blame.value if origin else None,
        "children": [_node_json(child, blamed) for child in node.children],
    }
