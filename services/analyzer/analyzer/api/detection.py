"""Health, anomalies, baselines, analyze-now and metrics.

Everything reads PostgreSQL or Redis rather than this replica's memory, so
every replica answers the same, leader or standby.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import PlainTextResponse

from aiops_engine.detection import Anomaly, Baseline, SeriesKey, is_established
from analyzer import metrics, store
from analyzer.loop import NotLeader

from .dependencies import DeskDep, HousekeeperDep, LoopDep, PoolDep, SettingsDep

router = APIRouter()


def anomaly_json(anomaly: Anomaly) -> dict[str, Any]:
    return asdict(anomaly) | {"key": str(anomaly.key), **_key_fields(anomaly.key)}


def baseline_json(baseline: Baseline) -> dict[str, Any]:
    return asdict(baseline) | {"key": str(baseline.key), **_key_fields(baseline.key)}


def _key_fields(key: SeriesKey) -> dict[str, str]:
    return {"kind": str(key.kind), "service": key.service, "target": key.target}


@router.get("/health")
async def health(loop: LoopDep, desk: DeskDep, housekeeper: HousekeeperDep) -> dict[str, Any]:
    """Liveness; whether cycles run, this replica's role, whether Redis is reachable, and
    whether housekeeping (rollups, partitions, retention) keeps up."""
    stats, incidents, kept = loop.stats, desk.stats, housekeeper.stats
    problems = [p for p in (stats.last_error, incidents.redis_error, kept.last_error) if p]
    return {
        "service": "analyzer",
        "status": "degraded" if problems else "ok",
        "role": "leader" if loop.leading else "standby",
        "identity": loop.identity,  # host:pid:random; the leader's is in Redis at analyzer:leader
        "cycles": stats.cycles,
        "last_cycle_at": stats.last_cycle_at,
        "last_error": stats.last_error,
        "fenced_writes": stats.fenced_writes,  # refused: a newer leader had taken over
        "baselines": len(loop.state.baselines) if loop.state else None,
        "redis": {
            "status": "unreachable" if incidents.redis_error else "ok",
            "error": incidents.redis_error,
            "pending_findings": incidents.pending_findings,
            "dropped_findings": incidents.dropped_findings,
            "failed_findings": incidents.failed_findings,
        },
        "incident_history": {
            "pending": incidents.pending_history,
            "dropped": incidents.dropped_history,
        },
        "housekeeping": asdict(kept),
    }


@router.get("/anomalies")
async def anomalies(
    pool: PoolDep,
    settings: SettingsDep,
    minutes: Annotated[float, Query(gt=0, le=7 * 24 * 60)] = 60,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Active anomalies (of the last `anomaly_retention_s`) and all of the last `minutes`."""
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        recent = await store.anomalies.recent_anomalies(
            conn, since=now - timedelta(minutes=minutes), limit=limit
        )
    active_since = now - timedelta(seconds=settings.anomaly_retention_s)
    return {
        "active": [anomaly_json(a) for a in recent if a.window_end >= active_since],
        "recent": [anomaly_json(a) for a in recent],
    }


@router.get("/baselines")
async def baselines(pool: PoolDep, settings: SettingsDep) -> list[dict[str, Any]]:
    """Every learned baseline: level, spread, rate, windows learned, and whether it is
    established (enough windows to judge latency and silence against)."""
    async with pool.acquire() as conn:
        learned = await store.baselines.load_baselines(conn)
    config = settings.detection()
    return [
        baseline_json(b) | {"established": is_established(b, config)}
        for _, b in sorted(learned.items())
    ]


@router.post("/analyze")
async def analyze(loop: LoopDep) -> dict[str, Any]:
    """Run a cycle now (for tests and scenarios); its window, anomalies and root causes."""
    try:
        report = await loop.analyze_now()
    except NotLeader as exc:
        raise HTTPException(409, f"this analyzer is a {exc}; ask the leader") from exc
    if report is None:
        return {"analyzed": False, "reason": "the last cycle just ran; nothing new to read yet"}
    return {
        "analyzed": True,
        "window": {"start": report.start, "end": report.end},
        "rows": report.rows,
        "seconds": report.seconds,
        "anomalies": [anomaly_json(a) for a in report.anomalies],
        "root_causes": [
            {
                "root_cause": {"service": f.root_cause.service, "endpoint": f.root_cause.endpoint},
                "confidence": f.confidence,
                "explanation": f.explanation,
            }
            for f in report.findings
        ],
    }


@router.get("/metrics", response_class=PlainTextResponse)
async def prometheus_metrics(loop: LoopDep, desk: DeskDep, housekeeper: HousekeeperDep) -> str:
    """Prometheus text format: cycles, durations, rows, anomalies, incidents, Redis, webhooks,
    and housekeeping (rollups, partitions, retention)."""
    return metrics.render(loop, desk, housekeeper)
