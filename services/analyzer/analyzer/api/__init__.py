"""The analyzer's HTTP API: one router per thing it serves."""

from fastapi import APIRouter

from . import anomalies, dashboard, health, incidents, metric_series, traces
from .errors import register_error_handlers

router = APIRouter()
router.include_router(health.router, tags=["health"])
router.include_router(anomalies.router, tags=["anomalies"])
router.include_router(incidents.router, tags=["incidents"])
router.include_router(traces.router, tags=["traces"])
router.include_router(dashboard.router, tags=["dashboard"])
router.include_router(metric_series.router, tags=["metric series"])

__all__ = ["register_error_handlers", "router"]
