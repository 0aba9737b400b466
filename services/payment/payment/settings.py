from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from aiops_telemetry import Duration, ServiceSettings


class PaymentSettings(ServiceSettings):
    service_name: str = "payment"
    work_ms: float = 8.0
    db_pool_size: int = Field(10, ge=1, le=100, description="connections to PostgreSQL")
    db_timeout: float = Field(5.0, gt=0, description="seconds a query or pool checkout may take")
    # Authorizations older than this are deleted, voided or not (payment/retention.py says why).
    payment_retention: Duration = Field(
        timedelta(days=7),
        ge=timedelta(hours=1),
        description="how long an authorization is kept: 7d, 36h or 90m (at least 1h)",
    )
    payment_retention_interval: float = Field(
        3600.0, gt=0, le=86_400, description="seconds between retention runs"
    )
