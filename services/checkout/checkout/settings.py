from __future__ import annotations

from pydantic import Field

from aiops_telemetry import ServiceSettings


class CheckoutSettings(ServiceSettings):
    service_name: str = "checkout"
    work_ms: float = 2.0
    payment_url: str = "http://localhost:8002"
    inventory_url: str = "http://localhost:8003"
    downstream_timeout: float = Field(2.0, gt=0, le=60, description="seconds per downstream call")
