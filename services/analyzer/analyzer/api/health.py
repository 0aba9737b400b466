"""Health and Prometheus metrics: this replica's own state, leader or standby."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from aiops_api.analyzer import AnalyzerHealth, HistoryBacklog, HousekeepingStatus, RedisStatus
from analyzer import metrics

from .dependencies import DeskDep, HousekeeperDep, LoopDep

router = APIRouter()


@router.get("/health")
async def health(loop: LoopDep, desk: DeskDep, housekeeper: HousekeeperDep) -> AnalyzerHealth:
    """Liveness; whether cycles run, this replica's role, whether Redis is reachable, and
    whether housekeeping (rollups, partitions, retention) keeps up."""
    stats, incidents, kept = loop.stats, desk.stats, housekeeper.stats
    problems = [p for p in (stats.last_error, incidents.redis_error, kept.last_error) if p]
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
