"""The payment service: `uvicorn --factory payment.app:create_app`."""

from __future__ import annotations

from fastapi import FastAPI

from aiops_telemetry import create_service_app

from .retention import retention_task
from .routes import ERRORS, router
from .settings import PaymentSettings


def create_app(settings: PaymentSettings | None = None) -> FastAPI:
    settings = settings or PaymentSettings()
    return create_service_app(
        settings,
        name="payment",
        router=router,
        errors=ERRORS,
        retention=lambda db: retention_task(db, settings),
    )
