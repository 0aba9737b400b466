from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from aiops_telemetry import Duration, ServiceSettings


class CheckoutSettings(ServiceSettings):
    service_name: str = "checkout"
    work_ms: float = 2.0
    payment_url: str = "http://localhost:8002"
    inventory_url: str = "http://localhost:8003"
    downstream_timeout: float = Field(2.0, gt=0, le=60, description="seconds per downstream call")
    db_pool_size: int = Field(5, ge=1, le=100, description="connections to PostgreSQL")
    db_timeout: float = Field(5.0, gt=0, description="seconds a query or pool checkout may take")
    # Voids of payments whose order failed, retried in the background until payment confirms.
    void_retry_interval: float = Field(
        1.0, gt=0, le=60, description="seconds between the retrier's looks for due voids"
    )
    void_backoff_initial: float = Field(
        1.0, gt=0, le=3600, description="seconds before the first retry of a failed void"
    )
    void_backoff_max: float = Field(
        60.0, gt=0, le=3600, description="longest wait between retries of one void"
    )
    void_batch_size: int = Field(20, ge=1, le=1000, description="voids retried at once, at most")
    # Done voids are deleted this long after they were done; pending ones never are.
    void_retention: Duration = Field(
        timedelta(days=7),
        ge=timedelta(hours=1),
        description="how long a done void is kept: 7d, 36h or 90m (at least 1h)",
    )
    void_retention_interval: float = Field(
        3600.0, gt=0, le=86_400, description="seconds between retention runs"
    )
