"""Health and Prometheus metrics: this replica's own state, leader or standby."""

from __future__ import annotations

import asyncio

import asyncpg
from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from aiops_api.analyzer import (
    AnalyzerHealth,
    DatabaseStatus,
    HistoryBacklog,
    HousekeepingStatus,
    RedisStatus,
)
from aiops_telemetry import DATABASE_UNAVAILABLE
from analyzer import metrics

from .dependencies import DeskDep, HousekeeperDep, LoopDep, PoolDep
from .errors import database_problem

router = APIRouter()

# A probe answers within this, whatever PostgreSQL does: a hung one reads as unreachable.
PROBE_TIMEOUT_S = 1.0
# What the probe reports rather than raises: the database away, or refusing us (a login
# or connection limit: reachable, but of no more use to the routes).
PROBE_FAILURES: tuple[type[Exception], ...] = (*DATABASE_UNAVAILABLE, asyncpg.PostgresError)


async def database_status(pool: asyncpg.Pool) -> DatabaseStatus:
    """`SELECT 1` on the pool within `PROBE_TIMEOUT_S`; a failure is reported, never raised."""
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S), pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
    except PROBE_FAILURES as exc:
        return DatabaseStatus(status="unreachable", error=database_problem(exc))
    return DatabaseStatus(status="ok", error=None)


@router.get("/health")
async def health(
    loop: LoopDep, desk: DeskDep, housekeeper: HousekeeperDep, pool: PoolDep
) -> AnalyzerHealth:
    """Liveness; whether cycles run, this replica's role, whether PostgreSQL and Redis are
    reachable, and whether housekeeping (rollups, partitions, retention) keeps up. Always 200:
    `status` is `degraded` when anything is wrong, and says what."""
    stats, incidents, kept = loop.stats, desk.stats, housekeeper.stats
    database = await database_status(pool)
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
