"""Health and Prometheus metrics: this replica's own state, leader or standby."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from aiops_api.analyzer import (
    AnalyzerHealth,
    DatabaseStatus,
    HistoryBacklog,
    HousekeepingStatus,
    RedisStatus,
)
from aiops_telemetry import DatabaseDep
from analyzer import metrics

from .dependencies import DeskDep, HousekeeperDep, LoopDep

router = APIRouter()


@router.get("/health")
async def health(
    loop: LoopDep, desk: DeskDep, housekeeper: HousekeeperDep, db: DatabaseDep
) -> AnalyzerHealth:
    """Liveness; whether cycles run, this replica's role, whether PostgreSQL and Redis are
    reachable, and whether housekeeping (rollups, partitions, retention) keeps up. Always 200:
    `status` is `degraded` when anything is wrong, and says what."""
    stats, incidents, kept = loop.stats, desk.stats, housekeeper.stats
    problem = await db.problem()
    database = DatabaseStatus(status="unreachable" if problem else "ok", error=problem)
    problems = [
        p for p in (database.error, stats.last_error, incidents.redis_error, kept.last_error) if p
    ]
    return AnalyzerHealth(
        service="analyzer",
        status="degraded" if problems else "ok",
        role="leader" if loop.leading else "standby",
        identity=loop.identity,
        cycles=stats.cycles,
        last_cycle_at=stats.last_cycle_at,
        last_error=stats.last_error,
        fenced_writes=stats.fenced_writes,
        baselines=len(loop.state.baselines) if loop.state else None,
        database=database,
        redis=RedisStatus(
            status="unreachable" if incidents.redis_error else "ok",
            error=incidents.redis_error,
            pending_findings=incidents.pending_findings,
            dropped_findings=incidents.dropped_findings,
            failed_findings=incidents.failed_findings,
        ),
        incident_history=HistoryBacklog(
            pending=incidents.pending_history, dropped=incidents.dropped_history
        ),
        housekeeping=HousekeepingStatus(
            minutes_rolled_up=kept.minutes_rolled_up,
            partitions_created=kept.partitions_created,
            partitions_dropped=kept.partitions_dropped,
            evidence_spans_kept=kept.evidence_spans_kept,
            failures=kept.failures,
            last_error=kept.last_error,
        ),
    )


@router.get("/metrics", response_class=PlainTextResponse)
async def prometheus_metrics(loop: LoopDep, desk: DeskDep, housekeeper: HousekeeperDep) -> str:
    """Prometheus text format: cycles, durations, rows, anomalies, incidents, Redis, webhooks,
    and housekeeping (rollups, partitions, retention)."""
    return metrics.render(loop, desk, housekeeper)
