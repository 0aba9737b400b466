"""The analyzer's HTTP API: one router per concern."""

from fastapi import APIRouter

from . import detection, incidents

router = APIRouter()
router.include_router(detection.router)
router.include_router(incidents.router, tags=["incidents"])

__all__ = ["router"]
