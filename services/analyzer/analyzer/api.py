"""The analyzer's HTTP API: health, anomalies, baselines, analyze-now, metrics."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse

from . import metrics, storage
from .detection import Anomaly, Baseline, SeriesKey
from .loop import AnalysisLoop

router = APIRouter()


async def get_loop(request: Request) -> AnalysisLoop:
    loop: AnalysisLoop = request.state.loop
    return loop


async def get_pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.state.pool
    return pool


LoopDep = Annotated[AnalysisLoop, Depends(get_loop)]
PoolDep = Annotated[asyncpg.Pool, Depends(get_pool)]


def anomaly_json(anomaly: Anomaly) -> dict[str, Any]:
    return asdict(anomaly) | {"key": str(anomaly.key), **_key_fields(anomaly.key)}


def baseline_json(baseline: Baseline) -> dict[str, Any]:
    return asdict(baseline) | {"key": str(baseline.key), **_key_fields(baseline.key)}


def _key_fields(key: SeriesKey) -> dict[str, str]:
    return {"kind": str(key.kind), "service": key.service, "target": key.target}


@router.get("/health")
async def health(loop: LoopDep) -> dict[str, Any]:
    """Liveness, and whether cycles are running."""
    stats = loop.stats
    return {
        "service": "analyzer",
        "status": "ok" if stats.last_error is None else "degraded",
        "cycles": stats.cycles,
        "last_cycle_at": stats.last_cycle_at,
        "last_error": stats.last_error,
        "baselines": len(loop.state.baselines),
    }


@router.get("/anomalies")
async def anomalies(
    loop: LoopDep,
    pool: PoolDep,
    minutes: Annotated[float, Query(gt=0, le=7 * 24 * 60)] = 60,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Active anomalies (found in recent cycles) and the history of the last `minutes`."""
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        recent = await storage.recent_anomalies(
            conn, since=now - timedelta(minutes=minutes), limit=limit
        )
    return {
        "active": [anomaly_json(a) for a in loop.active_anomalies(now)],
        "recent": [anomaly_json(a) for a in recent],
    }


@router.get("/baselines")
async def baselines(loop: LoopDep) -> list[dict[str, Any]]:
    """Every learned baseline: level, spread, rate, windows learned."""
    return [baseline_json(b) for _, b in sorted(loop.state.baselines.items())]


@router.post("/analyze")
async def analyze(loop: LoopDep) -> dict[str, Any]:
    """Run a cycle now (for tests and scenarios); its window and what it found."""
    report = await loop.analyze_now()
    if report is None:
        return {"analyzed": False, "reason": "the last cycle just ran; nothing new to read yet"}
    return {
        "analyzed": True,
        "window": {"start": report.start, "end": report.end},
        "rows": report.rows,
        "seconds": report.seconds,
        "anomalies": [anomaly_json(a) for a in report.anomalies],
    }


@router.get("/metrics", response_class=PlainTextResponse)
async def prometheus_metrics(loop: LoopDep) -> str:
    """Prometheus text format: cycles, durations, rows analysed, anomalies by type."""
    now = datetime.now(UTC)
    return metrics.render(
        loop.stats, baselines=len(loop.state.baselines), active=len(loop.active_anomalies(now))
    )
