"""The analyzer's HTTP API: one router per concern."""

from fastapi import APIRouter

from . import dashboard, detection, incidents

router = APIRouter()
router.include_router(detection.router)
router.include_router(incidents.router, tags=["incidents"])
router.include_router(dashboard.router, tags=["dashboard"])

__all__ = ["router"]
