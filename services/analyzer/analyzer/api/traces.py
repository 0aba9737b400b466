"""The learned dependency graph and reconstructed traces, both from PostgreSQL."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path

from aiops_api.analyzer import Dependencies, DependencyEdge, Trace, TraceOrigin, TraceSpan
from aiops_api.common import error
from aiops_engine.detection import span_thresholds, typical_latencies
from aiops_engine.rca import build_trees, find_origins
from aiops_telemetry import DatabaseDep
from analyzer import store

from .dependencies import SettingsDep
from .errors import DATABASE_DOWN

router = APIRouter()

TRACE_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"  # what the services accept in X-Trace-Id


@router.get("/dependencies", responses=DATABASE_DOWN)
async def dependencies(db: DatabaseDep) -> Dependencies:
    """The service graph learned from client spans and the server spans they caused."""
    async with db.connection() as conn:
        graph = await store.traces.load_dependencies(conn)
    return Dependencies(
        services=sorted(graph.services),
        edges=[DependencyEdge.of(d) for _, d in sorted(graph.edges.items())],
    )


TRACE_ERRORS = error(404, "no spans recorded for the trace (yet)") | DATABASE_DOWN


@router.get("/traces/{trace_id}", responses=TRACE_ERRORS)
async def trace(
    trace_id: Annotated[str, Path(pattern=TRACE_ID)], db: DatabaseDep, settings: SettingsDep
) -> Trace:
    """A trace as a tree with timings and statuses, and where its trouble starts, if anywhere."""
    async with db.connection() as conn:
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
    return Trace(
        trace_id=trace_id,
        spans=len(spans),
        services=sorted({s.service for s in spans}),
        duration_ms=max(r.span.latency_ms for r in roots),
        origins=[TraceOrigin.of(o) for o in origins],
        roots=[TraceSpan.of(r, blamed) for r in roots],
    )
