from __future__ import annotations

from pydantic import Field

from aiops_telemetry import ServiceSettings


class PaymentSettings(ServiceSettings):
    service_name: str = "payment"
    work_ms: float = 8.0
    db_pool_size: int = Field(10, ge=1, le=100, description="connections to PostgreSQL")
    db_timeout: float = Field(5.0, gt=0, description="seconds a query or pool checkout may take")
