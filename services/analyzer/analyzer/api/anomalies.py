"""Anomalies, baselines, and analyze-now.

Everything reads PostgreSQL rather than this replica's memory, so every
replica answers the same, leader or standby; only the leader analyzes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from aiops_api.analyzer import (
    AnalyzeResult,
    Anomalies,
    AnomalyRecord,
    BaselineRecord,
    CycleRun,
    CycleSkipped,
    FoundCause,
    Window,
)
from aiops_api.common import error
from aiops_engine.detection import is_established
from aiops_telemetry import DatabaseDep
from analyzer import store
from analyzer.loop import NotLeader

from .dependencies import LoopDep, SettingsDep
from .errors import DATABASE_DOWN

router = APIRouter()


@router.get("/anomalies", responses=DATABASE_DOWN)
async def anomalies(
    db: DatabaseDep,
    settings: SettingsDep,
    minutes: Annotated[float, Query(gt=0, le=7 * 24 * 60)] = 60,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Anomalies:
    """Active anomalies (of the last `anomaly_retention_s`) and all of the last `minutes`."""
    now = datetime.now(UTC)
    async with db.connection() as conn:
        found = await store.anomalies.recent_anomalies(
            conn, since=now - timedelta(minutes=minutes), limit=limit
        )
    active_since = now - timedelta(seconds=settings.anomaly_retention_s)
    recent = [AnomalyRecord.of(a) for a in found]
    return Anomalies(active=[a for a in recent if a.window_end >= active_since], recent=recent)


@router.get("/baselines", responses=DATABASE_DOWN)
async def baselines(db: DatabaseDep, settings: SettingsDep) -> list[BaselineRecord]:
    """Every learned baseline: level, spread, rate, windows learned, and whether it is
    established (enough windows to judge latency and silence against)."""
    async with db.connection() as conn:
        learned = await store.baselines.load_baselines(conn)
    config = settings.detection()
    return [
        BaselineRecord.of(b, established=is_established(b, config))
        for _, b in sorted(learned.items())
    ]


@router.post(
    "/analyze", responses=error(409, "this replica is a standby: ask the leader") | DATABASE_DOWN
)
async def analyze(loop: LoopDep) -> AnalyzeResult:
    """Run a cycle now (for tests and scenarios); its window, anomalies and root causes."""
    try:
        report = await loop.analyze_now()
    except NotLeader as exc:
        raise HTTPException(409, f"this analyzer is a {exc}; ask the leader") from exc
    if report is None:
        return CycleSkipped(
            analyzed=False, reason="the last cycle just ran; nothing new to read yet"
        )
    return CycleRun(
        analyzed=True,
        window=Window(start=report.start, end=report.end),
        rows=report.rows,
        seconds=report.seconds,
        anomalies=[AnomalyRecord.of(a) for a in report.anomalies],
        root_causes=[FoundCause.of(f) for f in report.findings],
    )
