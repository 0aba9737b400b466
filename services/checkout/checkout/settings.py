from __future__ import annotations

from pydantic import Field

from aiops_telemetry import DatabaseServiceSettings, Duration
from aiops_telemetry.retention import retention_interval, retention_period


class CheckoutSettings(DatabaseServiceSettings):
    service_name: str = "checkout"
    work_ms: float = 2.0
    payment_url: str = "http://localhost:8002"
    inventory_url: str = "http://localhost:8003"
    downstream_timeout: float = Field(2.0, gt=0, le=60, description="seconds per downstream call")
    # Its database holds only the void ledger: a smaller pool than payment's or inventory's.
    db_pool_size: int = Field(5, ge=1, le=100, description="connections to PostgreSQL")
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
    void_retention: Duration = retention_period("a done void")
    void_retention_interval: float = retention_interval()
