"""The inventory service: `uvicorn --factory inventory.app:create_app`."""

from __future__ import annotations

from fastapi import FastAPI

from aiops_telemetry import create_service_app

from .routes import ERRORS, router
from .settings import InventorySettings


def create_app(settings: InventorySettings | None = None) -> FastAPI:
    return create_service_app(
        settings or InventorySettings(), name="inventory", router=router, errors=ERRORS
    )
